//! The files inside the demo's layers: small text files shaped like the real ones (os-release,
//! passwd, dpkg status, configs, scripts). Executables and data are stand-ins: pseudo-random
//! base64 text of a chosen size, so layers differ in size the way real ones do and do not
//! compress away. The generator is seeded by a label, so a file's bytes depend on its label only.

use sha2::{Digest as _, Sha256};

use super::layer::LayerBuilder;
use super::oci::Platform;

/// A Debian point release the base image is built from.
#[derive(Debug, Clone, Copy)]
pub struct Release {
    pub version: &'static str,
    pub codename: &'static str,
    pub created: &'static str,
}

/// splitmix64: tiny, and fixed here so the demo never changes with a dependency's version.
struct Rng(u64);

impl Rng {
    fn seeded(label: &str) -> Self {
        let hash = Sha256::digest(label.as_bytes());
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&hash[..8]);
        Self(u64::from_le_bytes(seed))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// `bytes` of base64-alphabet text in 76-column lines, seeded by `label`.
pub fn payload(label: &str, bytes: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = Rng::seeded(label);
    let mut out = String::with_capacity(bytes + bytes / 76 + 1);
    let mut column = 0;
    while out.len() < bytes {
        let mut word = rng.next();
        for _ in 0..10 {
            out.push(char::from(ALPHABET[(word & 63) as usize]));
            word >>= 6;
            column += 1;
            if column == 76 {
                out.push('\n');
                column = 0;
            }
        }
    }
    out.truncate(bytes);
    out
}

/// `n` lowercase hex digits seeded by `label` (commit ids, asset hashes).
pub fn hex_id(label: &str, n: usize) -> String {
    let mut rng = Rng::seeded(label);
    let mut out = String::new();
    while out.len() < n {
        out.push_str(&format!("{:016x}", rng.next()));
    }
    out.truncate(n);
    out
}

/// A stand-in for a compiled program: a header naming what it stands for, then payload.
pub fn program(name: &str, version: &str, platform: Platform, bytes: usize) -> String {
    let label = format!("{name} {version} {}", platform.arch);
    format!(
        "#!demo-binary {name} {version} linux/{}\n{}\n",
        platform.arch,
        payload(&label, bytes)
    )
}

pub const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
sync:x:4:65534:sync:/bin:/bin/sync
games:x:5:60:games:/usr/games:/usr/sbin/nologin
man:x:6:12:man:/var/cache/man:/usr/sbin/nologin
lp:x:7:7:lp:/var/spool/lpd:/usr/sbin/nologin
mail:x:8:8:mail:/var/mail:/usr/sbin/nologin
news:x:9:9:news:/var/spool/news:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
";

pub const GROUP: &str = "root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
news:x:9:
www-data:x:33:
staff:x:50:
users:x:100:
nogroup:x:65534:
";

/// Packages of a slim Debian: name, version on bookworm, version on trixie, installed KiB.
const PACKAGES: &[(&str, &str, &str, u32)] = &[
    ("adduser", "3.134", "3.152", 849),
    ("apt", "2.6.1", "3.0.3", 4164),
    ("base-files", "12.4+deb12u8", "13.8", 344),
    ("base-passwd", "3.6.1", "3.6.7", 290),
    ("bash", "5.2.15-2+b7", "5.2.37-2+b5", 7163),
    ("bsdutils", "1:2.38.1-5+deb12u2", "1:2.41-5", 335),
    ("coreutils", "9.1-1", "9.7-3", 18062),
    ("dash", "0.5.12-2", "0.5.12-12", 205),
    ("debconf", "1.5.82", "1.5.91", 522),
    ("debian-archive-keyring", "2023.3+deb12u1", "2025.1", 245),
    ("debianutils", "5.7-0.5~deb12u1", "5.23.2", 243),
    ("diffutils", "1:3.8-4", "1:3.10-4", 1592),
    ("dpkg", "1.21.22", "1.22.21", 6356),
    ("findutils", "4.9.0-4", "4.10.0-3", 1701),
    ("gcc-12-base", "12.2.0-14", "12.2.0-14", 64),
    ("gpgv", "2.2.40-1.1", "2.4.7-21+b3", 926),
    ("grep", "3.8-5", "3.11-4", 1179),
    ("gzip", "1.12-1", "1.13-1", 265),
    ("hostname", "3.23+nmu1", "3.25", 52),
    ("init-system-helpers", "1.65.2", "1.69~deb13u1", 131),
    ("libacl1", "2.3.1-3", "2.3.2-2+b1", 69),
    ("libapt-pkg6.0", "2.6.1", "3.0.3", 3128),
    ("libc-bin", "2.36-9+deb12u9", "2.41-12", 2604),
    ("libc6", "2.36-9+deb12u9", "2.41-12", 12988),
    ("libgcc-s1", "12.2.0-14", "14.2.0-19", 140),
    ("libpam0g", "1.5.2-6+deb12u1", "1.7.0-5", 244),
    ("libselinux1", "3.4-1+b6", "3.8.1-1", 215),
    ("libssl3", "3.0.15-1~deb12u1", "3.5.1-1", 6227),
    ("libstdc++6", "12.2.0-14", "14.2.0-19", 2712),
    ("libsystemd0", "252.33-1~deb12u1", "257.7-1", 831),
    ("libzstd1", "1.5.4+dfsg2-5", "1.5.7+dfsg-1", 1007),
    (
        "login",
        "1:4.13+dfsg1-1+b1",
        "1:4.16.0-2+really2.41-5",
        2460,
    ),
    ("mawk", "1.3.4.20200120-3.1", "1.3.4.20250131-1", 265),
    ("mount", "2.38.1-5+deb12u2", "2.41-5", 436),
    ("ncurses-base", "6.4-4", "6.5+20250216-2", 394),
    ("passwd", "1:4.13+dfsg1-1+b1", "1:4.17.4-2", 2849),
    ("perl-base", "5.36.0-7+deb12u1", "5.40.1-6", 7639),
    ("sed", "4.9-1", "4.9-2", 1000),
    ("sysvinit-utils", "3.06-4", "3.14-4", 65),
    ("tar", "1.34+dfsg-1.2+deb12u1", "1.35+dfsg-3.1", 3156),
    ("tzdata", "2024b-0+deb12u1", "2025b-4", 2416),
    ("util-linux", "2.38.1-5+deb12u2", "2.41-5", 3577),
    (
        "zlib1g",
        "1:1.2.13.dfsg-1",
        "1:1.3.dfsg+really1.3.1-1+b1",
        168,
    ),
];

/// A Debian package installed in an image, as dpkg records it.
#[derive(Debug, Clone, Copy)]
pub struct Package {
    pub name: &'static str,
    pub version: &'static str,
    pub arch: &'static str,
    pub installed_kib: u32,
}

/// The packages of the slim Debian base of `release` on `platform`, in dpkg's order.
pub fn debian_packages(release: Release, platform: Platform) -> Vec<Package> {
    let trixie = release.codename == "trixie";
    PACKAGES
        .iter()
        .map(|(name, bookworm_version, trixie_version, kib)| Package {
            name,
            version: if trixie {
                trixie_version
            } else {
                bookworm_version
            },
            arch: if matches!(*name, "tzdata" | "debconf" | "adduser" | "ncurses-base") {
                "all"
            } else {
                platform.arch
            },
            installed_kib: *kib,
        })
        .collect()
}

fn dpkg_status(release: Release, platform: Platform) -> String {
    let mut out = String::new();
    for Package {
        name,
        version,
        arch,
        installed_kib: kib,
    } in debian_packages(release, platform)
    {
        out.push_str(&format!(
            "Package: {name}\nStatus: install ok installed\nPriority: required\nSection: admin\n\
             Installed-Size: {kib}\nMaintainer: Debian Developers <debian-devel@lists.debian.org>\n\
             Architecture: {arch}\nVersion: {version}\nDescription: {name} for Debian {codename}\n\n",
            codename = release.codename,
        ));
    }
    out
}

/// The one layer of the slim Debian base: merged-/usr symlinks, /etc, dpkg's database and
/// stand-ins for the C library and shell.
pub fn debian_rootfs(release: Release, platform: Platform) -> LayerBuilder {
    let label = format!("debian {} {}", release.version, platform.arch);
    let major = release.version.split('.').next().unwrap_or(release.version);
    let os_release = format!(
        "PRETTY_NAME=\"Debian GNU/Linux {major} ({codename})\"\nNAME=\"Debian GNU/Linux\"\n\
         VERSION_ID=\"{major}\"\nVERSION=\"{major} ({codename})\"\nVERSION_CODENAME={codename}\n\
         ID=debian\nHOME_URL=\"https://www.debian.org/\"\nSUPPORT_URL=\"https://www.debian.org/support\"\n\
         BUG_REPORT_URL=\"https://bugs.debian.org/\"\n",
        codename = release.codename
    );
    let lib = format!("usr/lib/{}", platform.triplet);
    LayerBuilder::new(release.created)
        .symlink("bin", "usr/bin")
        .symlink("lib", "usr/lib")
        .symlink("sbin", "usr/sbin")
        .dir("dev")
        .dir("home")
        .dir("proc")
        .dir("root")
        .dir("tmp")
        .dir("var/cache/apt")
        .file("etc/debian_version", format!("{}\n", release.version))
        .file("etc/os-release", os_release)
        .file("etc/hostname", "localhost\n")
        .file("etc/passwd", PASSWD)
        .file("etc/group", GROUP)
        .file(
            "etc/motd",
            "\nThe programs included with the Debian GNU/Linux system are free software.\n",
        )
        .file(
            "etc/apt/sources.list.d/debian.sources",
            format!(
                "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: {c} {c}-updates\n\
                 Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
                c = release.codename
            ),
        )
        .file("var/lib/dpkg/status", dpkg_status(release, platform))
        .exec(
            &format!("{lib}/libc.so.6"),
            payload(&format!("{label} libc"), 7000),
        )
        .exec("usr/bin/bash", payload(&format!("{label} bash"), 4000))
        .exec("usr/bin/dpkg", payload(&format!("{label} dpkg"), 1500))
        .symlink("usr/bin/sh", "dash")
        .exec("usr/bin/dash", payload(&format!("{label} dash"), 900))
}

/// The CA bundle and zone data an application image installs with apt.
pub fn ca_certificates_and_tzdata(label: &str, created: &str, user: &str) -> LayerBuilder {
    let mut pem = String::new();
    for i in 0..6 {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        pem.push_str(&payload(&format!("{label} ca {i}"), 900));
        pem.push_str("\n-----END CERTIFICATE-----\n");
    }
    LayerBuilder::new(created)
        .file("etc/ssl/certs/ca-certificates.crt", pem)
        .file("etc/timezone", "Etc/UTC\n")
        .file(
            "usr/share/zoneinfo/UTC",
            payload(&format!("{label} utc"), 120),
        )
        .file(
            "usr/share/zoneinfo/Europe/Berlin",
            payload(&format!("{label} berlin"), 700),
        )
        .file(
            "usr/share/zoneinfo/America/New_York",
            payload(&format!("{label} new york"), 900),
        )
        .file(
            "etc/passwd",
            format!("{PASSWD}{user}:x:10001:10001::/home/{user}:/usr/sbin/nologin\n"),
        )
        .file("etc/group", format!("{GROUP}{user}:x:10001:\n"))
        .dir(&format!("home/{user}"))
}
