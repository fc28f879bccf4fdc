"""Dashboard strings, Bahasa Indonesia first, English second."""

from __future__ import annotations

from collections.abc import Callable

LANGS = ("id", "en")

STRINGS: dict[str, tuple[str, str]] = {  # key: (id, en)
    "title": ("Anjungan — Pemantauan Armada", "Anjungan — Fleet monitor"),
    "sign_in": ("Masuk", "Sign in"), "sign_out": ("Keluar", "Sign out"),
    "username": ("Nama pengguna", "User name"), "password": ("Kata sandi", "Password"),
    "bad_login": ("Nama pengguna atau kata sandi salah.", "Wrong user name or password."),
    "too_many": ("Terlalu banyak percobaan gagal. Coba lagi dalam beberapa menit.",
                 "Too many failed attempts. Try again in a few minutes."),
    "bad_csrf": ("Formulir kedaluwarsa; coba lagi.", "The form expired; please try again."),
    "overview": ("Ringkasan", "Overview"), "feedback": ("Masukan warga", "Resident feedback"),
    "kiosks": ("Anjungan", "Kiosks"), "online": ("Daring", "Online"), "offline": ("Luring", "Offline"),
    "revoked": ("Dicabut (sertifikat)", "Revoked (certificate)"),
    "open_alerts": ("Peringatan aktif", "Open alerts"), "unanswered": ("Belum dijawab", "Unanswered"),
    "office": ("Kantor", "Office"), "kecamatan": ("Kecamatan", "District (kecamatan)"),
    "state": ("Status", "State"), "all": ("Semua", "All"), "filter": ("Saring", "Filter"),
    "search": ("Cari ID", "Search id"), "kiosk": ("Anjungan", "Kiosk"),
    "last_seen": ("Terakhir terlihat", "Last seen"), "outbox": ("Kotak keluar", "Outbox"),
    "alerts": ("Peringatan", "Alerts"), "never": ("belum pernah", "never"),
    "ago": ("lalu", "ago"), "none": ("Tidak ada", "None"),
    "relay_backlog": ("Antrean ke SIAK", "Relay backlog to SIAK"),
    "siak_availability": ("Ketersediaan SIAK", "SIAK availability"),
    "captures_per_hour": ("Perekaman per jam menurut prioritas", "Captures per hour by priority"),
    "centre": ("Pusat", "Centre"), "health_history": ("Riwayat kesehatan perangkat", "Device health history"),
    "peripherals": ("Perangkat", "Peripherals"), "device": ("Perangkat", "Device"),
    "ok": ("Baik", "OK"), "fault": ("Rusak", "Fault"), "detail": ("Keterangan", "Detail"),
    "versions": ("Versi", "Versions"), "app": ("Aplikasi", "App"), "firmware": ("Firmware", "Firmware"),
    "cert_expires": ("Sertifikat berakhir", "Certificate expires"),
    "link_failures": ("Gagal tersambung ke pusat (sejak mulai)", "Failed connections to the centre (since start)"),
    "last_capture": ("Perekaman terakhir", "Last capture"), "disk_free": ("Disk kosong", "Disk free"),
    "temperature": ("Suhu", "Temperature"), "alert_log": ("Catatan peringatan", "Alert log"),
    "opened": ("dibuka", "opened"), "cleared": ("selesai", "cleared"),
    "received": ("Diterima", "Received"), "category": ("Kategori", "Category"),
    "text": ("Isi", "Text"), "ticket": ("Tiket", "Ticket"),
    "mark_answered": ("Tandai sudah dijawab", "Mark answered"),
    "answered": ("Sudah dijawab", "Answered"), "by": ("oleh", "by"),
    "not_found": ("Tidak ditemukan.", "Not found."), "no_data": ("Belum ada data.", "No data yet."),
    "outbox_depth": ("Isi kotak keluar", "Outbox depth"), "waiting": ("menunggu", "waiting"),
    "available": ("tersedia", "available"), "tamper": ("Sakelar pembobolan", "Tamper switch"),
    "back": ("Kembali", "Back"), "all_alerts": ("Semua peringatan aktif", "All open alerts"),
    "session": ("Sesi", "Session"), "faults": ("Perangkat rusak", "Faulty devices"),
    "vulnerable": ("Rentan", "Vulnerable"), "first_recording": ("Perekaman baru", "First recording"),
    "routine": ("Rutin", "Routine"),
    "offline_k": ("anjungan luring", "offline"), "peripheral_k": ("perangkat rusak", "device fault"),
    "outbox_k": ("kotak keluar tertahan", "outbox stuck"),
    "rejected_k": ("paket ditolak pusat", "packets refused"),
    "relay_backlog_k": ("antrean SIAK lama", "relay backlog old"),
    "siak_circuit_k": ("SIAK tidak tersedia", "SIAK circuit open"),
    "cert_expiring_k": ("sertifikat hampir habis", "certificate expiring"),
    "tamper_k": ("pembobolan", "tamper"), "disk_low_k": ("disk hampir penuh", "disk low"),
    "temperature_k": ("suhu tinggi", "temperature high"),
    "trust_expiring_k": ("sertifikat/CRL pusat hampir habis", "centre certificate/CRL expiring"),
    "help_k": ("warga minta bantuan", "help requested"),
    "help_requests": ("Warga minta bantuan petugas", "Residents asking for an officer"),
    "on_my_way": ("Saya segera ke sana", "On my way"),
    "out_of_service_k": ("tidak melayani (jam/sertifikat)", "out of service (clock/certificate)"),
}


def translator(lang: str) -> Callable[[str], str]:
    index = LANGS.index(lang) if lang in LANGS else 0

    def t(key: str) -> str:
        pair = STRINGS.get(key)
        return pair[index] if pair else key

    return t
