"""Every word the kiosk shows, prints or says, in Bahasa Indonesia and English. One place.

`t(key, lang, **params)` formats a string; a missing key is a bug the tests catch (every key
the views use exists in both languages). Plain words, short sentences: many residents are
elderly or new to touchscreens.
"""

from __future__ import annotations

LANGS = ("id", "en")

STRINGS: dict[str, tuple[str, str]] = {
    # screens: title, body
    "title_welcome": ("Selamat datang di Anjungan e-KTP", "Welcome to the e-KTP kiosk"),
    "body_welcome": ("Sentuh Mulai untuk memulai.", "Touch Start to begin."),
    "title_officer_id": ("Mode petugas: nomor petugas", "Officer mode: officer number"),
    "body_officer_id": ("Masukkan nomor petugas (NIP).", "Enter your officer number (NIP)."),
    "title_officer_pin": ("Mode petugas: PIN", "Officer mode: PIN"),
    "body_officer_pin": ("Masukkan PIN petugas.", "Enter your officer PIN."),
    "title_menu": ("Pilih layanan", "Choose a service"),
    "body_menu": ("Apa yang ingin Anda lakukan hari ini?", "What would you like to do today?"),
    "title_replacement_reason": ("Mengapa KTP diganti?", "Why replace the card?"),
    "body_replacement_reason": ("Pilih satu.", "Choose one."),
    "title_correction_field": ("Data mana yang salah?", "Which detail is wrong?"),
    "body_correction_field": ("Pilih satu.", "Choose one."),
    "title_correction_value": ("Tulis data yang benar", "Type the correct detail"),
    "body_correction_value": ("Petugas akan memeriksa dokumen Anda.", "An officer will check your documents."),
    "title_nik": ("Nomor Induk Kependudukan (NIK)", "Population number (NIK)"),
    "body_nik": ("Ketik 16 angka NIK dari Kartu Keluarga.", "Type the 16 digits of your NIK from the family card."),
    "title_kk": ("Nomor Kartu Keluarga (KK)", "Family card number (KK)"),
    "body_kk": ("Ketik 16 angka nomor KK.", "Type the 16 digits of the family card number."),
    "title_consent": ("Persetujuan data pribadi", "Consent to use your personal data"),
    "body_consent": (
        "Data ini dikunci (dienkripsi) dan hanya dibuka oleh Dukcapil.|"
        "Data dihapus dari mesin ini setelah diterima pusat (UU PDP No. 27/2022).|"
        "Jika tidak setuju, petugas di loket dapat membantu.",
        "The data is locked (encrypted) and only Dukcapil can open it.|"
        "It is deleted from this machine once the centre has it (UU PDP No. 27/2022).|"
        "If you do not agree, an officer at the desk can help you.",
    ),
    "consent_new_recording": (
        "Untuk e-KTP baru kami akan mengambil foto, sidik jari, iris mata, dan tanda tangan Anda.",
        "For a new e-KTP we will take your photo, fingerprints, irises and signature.",
    ),
    "consent_replacement": (
        "Untuk KTP pengganti kami akan mengambil foto, sidik jari kedua telunjuk, dan tanda tangan Anda.",
        "For a replacement card we will take your photo, both index fingerprints and your signature.",
    ),
    "consent_correction": (
        "Untuk perbaikan data kami akan mengambil foto dan tanda tangan Anda.",
        "For a correction we will take your photo and your signature.",
    ),
    "title_consent_declined": ("Tidak apa-apa", "That is fine"),
    "body_consent_declined": (
        "Silakan menuju loket pelayanan. Petugas akan membantu Anda.",
        "Please go to the service desk. An officer will help you.",
    ),
    "title_capture_guide": ("Langkah {step} dari {steps}: {what}", "Step {step} of {steps}: {what}"),
    "guide_face": ("Lihat ke kamera. Jangan tersenyum lebar. Lepas kacamata.", "Look at the camera. Keep a calm face. Remove glasses."),
    "guide_finger": ("Letakkan jari berikut di kaca pemindai: {fingers}.", "Place these fingers on the scanner glass: {fingers}."),
    "guide_iris": ("Lihat ke dalam kamera iris dan buka mata lebar.", "Look into the iris camera and keep your eyes open."),
    "guide_signature": ("Tanda tangani pad dengan pena.", "Sign on the pad with the pen."),
    "title_capturing": ("Mohon tahan sebentar…", "Please hold still…"),
    "body_capturing": ("Sedang mengambil: {what}", "Capturing: {what}"),
    "capturing_progress": (
        "Selesai {done} dari {total}. Sekarang: {position}.",
        "{done} of {total} done. Now: {position}.",
    ),
    "capturing_cancel": ("Sentuh Kembali untuk membatalkan.", "Touch Back to cancel."),
    "title_capture_result": ("Hasil: {what}", "Result: {what}"),
    "result_ok": ("Bagus! Kualitas cukup.", "Good! The quality is fine."),
    "result_low": ("Kualitas kurang. Coba lagi ({left} kali tersisa).", "Quality too low. Try again ({left} tries left)."),
    "result_keep": ("Sudah 3 kali dicoba. Hasil terbaik disimpan.", "Tried 3 times. The best result is kept."),
    "result_quality": (
        "{position}: {verdict} (kualitas {quality}, minimal {threshold})",
        "{position}: {verdict} (quality {quality}, needs {threshold})",
    ),
    "result_photo": (
        "Ini foto Anda. Sentuh Lanjut untuk memakainya, atau Coba lagi.",
        "This is your photo. Touch Next to use it, or Try again.",
    ),
    "hand_left": ("Kiri", "Left"),
    "hand_right": ("Kanan", "Right"),
    # the live preview's bar: short, to fit under the preview at the text's size (the oval
    # and the bar say the rest; speech says `say_hint_*`)
    "hint_starting": ("Kamera menyala…", "Camera starting…"),
    "hint_ok": ("Bagus, tahan · {quality}", "Good, hold still · {quality}"),
    "hint_still": ("Diam sebentar · {quality}", "Hold still · {quality}"),
    "hint_closer": ("Lebih dekat · {quality}", "Move closer · {quality}"),
    "hint_light": ("Kurang terang · {quality}", "More light · {quality}"),
    "hint_look": ("Lihat ke kamera · {quality}", "Look at the camera · {quality}"),
    "bar_quality": ("{position}: {verdict} · {quality}", "{position}: {verdict} · {quality}"),
    "say_hint_ok": ("Bagus. Tahan posisi ini.", "Good. Hold still like this."),
    "say_hint_still": ("Diam sebentar.", "Hold still."),
    "say_hint_closer": ("Mendekatlah ke kamera.", "Move closer to the camera."),
    "say_hint_light": ("Perlu lebih terang.", "More light is needed."),
    "say_hint_look": ("Lihat ke kamera.", "Look at the camera."),
    "verdict_ok": ("baik", "good"),
    "verdict_low": ("kurang", "too low"),
    "tip_face": (
        "Tips: lihat lurus ke kamera, wajah terang, tanpa kacamata.",
        "Tip: look straight at the camera, face well lit, no glasses.",
    ),
    "tip_finger": (
        "Tips: tekan jari sedikit lebih kuat; bersihkan dan keringkan jari.",
        "Tip: press a little harder; clean and dry your fingers.",
    ),
    "tip_iris": ("Tips: buka mata lebar-lebar dan jangan berkedip.", "Tip: open your eyes wide and do not blink."),
    "tip_signature": ("Tips: tanda tangan lebih besar, tekan pena.", "Tip: sign larger and press the pen down."),
    "result_device": (
        "Alat {what} bermasalah ({reason}). Ini bukan kesalahan Anda, dan kesempatan Anda tidak "
        "berkurang. Petugas sudah dipanggil. Anda boleh mencoba lagi.",
        "The {what} device has a problem ({reason}). This is not your fault, and it does not use up "
        "a try. An officer has been called. You may try again.",
    ),
    "result_none": (
        "Belum ada hasil yang bisa dipakai. Tidak disimpan; petugas akan membantu.",
        "No usable result yet. Nothing is kept; an officer will help.",
    ),
    "guide_tried": ("Hasil terbaik Anda sejauh ini tetap disimpan.", "Your best result so far is kept."),
    "title_capture_exception": ("Tidak bisa diambil?", "Cannot be captured?"),
    "body_capture_exception": (
        "Pilih yang tidak bisa, lalu pilih alasannya. Tidak masalah, pendaftaran tetap lanjut.",
        "Pick what cannot be captured, then the reason. That is fine; your recording goes on.",
    ),
    "title_exception_reason": ("Mengapa tidak bisa?", "Why not?"),
    "body_exception_reason": ("Pilih alasannya. Petugas akan memeriksanya.", "Choose the reason. An officer will check it."),
    "exception_which": ("Tidak bisa: {positions}", "Cannot be captured: {positions}"),
    "btn_exception_next": ("Lanjut: alasannya", "Next: the reason"),
    "cause_amputated": ("Diamputasi / tidak ada", "Amputated / not there"),
    "cause_bandaged": ("Diperban / luka", "Bandaged / wounded"),
    "cause_scarred": ("Bekas luka, sidik hilang", "Scarred, no print"),
    "cause_cannot_move": ("Kaku, tidak bisa diletakkan", "Stiff, cannot be placed"),
    "cause_eye_missing": ("Mata tidak ada / palsu", "No eye / artificial eye"),
    "cause_cannot_open": ("Tidak bisa membuka mata", "Cannot open the eye"),
    "cause_cannot_hold": ("Tidak bisa diam / menghadap", "Cannot keep still / face it"),
    "cause_cannot_sign": ("Tidak bisa memegang pena", "Cannot hold the pen"),
    "title_review": ("Periksa sebelum dikirim", "Check before sending"),
    "review_nik": ("NIK: {nik}", "NIK: {nik}"),
    "review_service": ("Layanan: {service}", "Service: {service}"),
    "review_captured": ("Terekam: {count} dari {total}", "Captured: {count} of {total}"),
    "review_exceptions": ("Pengecualian: {items}", "Exceptions: {items}"),
    "review_assisted": ("Dibantu petugas {officer}", "Assisted by officer {officer}"),
    "review_disability": ("Apakah Anda penyandang disabilitas?", "Do you have a disability?"),
    "review_correction": ("Perbaikan {field}: {value}", "Correction of {field}: {value}"),
    "title_submitting": ("Menyimpan…", "Saving…"),
    "body_submitting": ("Data Anda dikunci dan disimpan.", "Your data is being locked and saved."),
    "title_done": ("Selesai. Terima kasih!", "Done. Thank you!"),
    "body_done_no_receipt": (
        "Nomor tiket Anda: {ticket}|Struk tidak dapat dicetak. Catat nomor tiket ini atau foto kode QR di layar."
        "|Cek status dengan nomor tiket atau kode QR.",
        "Your ticket number: {ticket}|The receipt could not be printed. Write this ticket number down or "
        "take a photo of the QR code on screen.|Check the status with the ticket number or QR code.",
    ),
    "title_confirm_leave": ("Keluar dan hapus data Anda?", "Exit and erase your data?"),
    "body_confirm_leave": (
        "Semua yang sudah Anda ketik dan rekam di sini akan dihapus.",
        "Everything you have typed and recorded here will be erased.",
    ),
    "title_see_officer": ("Petugas akan membantu Anda", "An officer will help you"),
    "officer_declined": (
        "Tidak apa-apa. Petugas sudah dipanggil dan akan merekam bersama Anda.|"
        "Mohon tunggu di sini. Tidak ada data yang dikirim.",
        "That is fine. An officer has been called and will do the recording with you.|"
        "Please wait here. Nothing has been sent.",
    ),
    "officer_device": (
        "Alat {what} sedang bermasalah. Ini bukan kesalahan Anda.|"
        "Petugas sudah dipanggil. Mohon tunggu di sini.",
        "The {what} device is not working. This is not your fault.|"
        "An officer has been called. Please wait here.",
    ),
    "printer_down": (
        "Printer struk sedang rusak: nomor tiket akan ditampilkan di layar untuk dicatat.",
        "The receipt printer is out of order: your ticket number will be shown on screen to note down.",
    ),
    "help_called": ("Petugas sudah dipanggil. Mohon tunggu.", "An officer has been called. Please wait."),
    "officer_coming": ("Petugas sedang menuju ke sini.", "An officer is on the way."),
    "body_done": (
        "Nomor tiket Anda: {ticket}|Simpan struk ini. Cek status dengan nomor tiket atau kode QR.",
        "Your ticket number: {ticket}|Keep this receipt. Check the status with the ticket number or QR code.",
    ),
    "title_status_entry": ("Cek status", "Check status"),
    "body_status_entry": ("Ketik nomor tiket (8 angka) atau pindai QR struk.", "Type the ticket number (8 digits) or scan the receipt QR."),
    "title_status_result": ("Status tiket {ticket}", "Status of ticket {ticket}"),
    "title_feedback_category": ("Saran dan pengaduan", "Feedback and complaints"),
    "body_feedback_category": ("Tentang apa?", "What is it about?"),
    "title_feedback_text": ("Tulis pesan Anda", "Write your message"),
    "body_feedback_text": ("Tanpa NIK/data pribadi.", "No NIK or personal details."),
    "title_feedback_sent": ("Terima kasih", "Thank you"),
    "body_feedback_sent": ("Pesan Anda dikirim ke pusat. Terima kasih.", "Your message goes to the centre. Thank you."),
    "body_feedback_sent_reply": (
        "Pesan Anda dikirim ke pusat. Jawaban akan dikirim ke {contact}.",
        "Your message goes to the centre. The answer will go to {contact}.",
    ),
    "title_feedback_contact": ("Ingin dijawab?", "Want an answer?"),
    "body_feedback_contact": ("HP/e-mail, boleh kosong.", "Phone or e-mail (optional)."),
    "err_contact": (
        "Ini bukan nomor HP atau alamat e-mail. Contoh: 0812 3456 7890 atau nama@contoh.id",
        "This is not a phone number or e-mail address. For example: 0812 3456 7890 or name@example.id",
    ),
    "title_error": ("Maaf, ada gangguan", "Sorry, something went wrong"),
    "err_store_failed": ("Data tidak dapat disimpan. Silakan ke loket.", "Your data could not be saved. Please go to the desk."),
    # buttons
    "btn_start": ("Mulai", "Start"),
    "btn_officer": ("Petugas", "Officer"),
    "btn_back": ("Kembali", "Back"),
    "btn_home": ("Keluar", "Exit"),
    "btn_help": ("Panggil petugas", "Call an officer"),
    "btn_audio": ("Suara", "Audio"),
    "btn_contrast": ("Kontras", "Contrast"),
    "btn_audio_on": ("Suara: nyala", "Audio: on"),
    "btn_stay": ("Tidak, lanjutkan", "No, continue"),
    "btn_leave": ("Ya, keluar dan hapus", "Yes, exit and erase"),
    "title_eligibility": ("Usia Anda {age} tahun", "You are {age} years old"),
    "body_eligibility": (
        "KTP-el dibuat mulai usia 17 tahun, atau lebih awal bagi yang sudah atau pernah menikah.|"
        "Apakah Anda sudah atau pernah menikah?",
        "An e-KTP is made from the age of 17, or earlier for someone who is or was married.|"
        "Are you married, or were you ever married?",
    ),
    "btn_married": ("Ya, sudah/pernah menikah", "Yes, I am or was married"),
    "btn_not_married": ("Belum pernah menikah", "No, never married"),
    "title_not_eligible": ("Belum waktunya untuk KTP-el", "Not yet time for your e-KTP"),
    "body_not_eligible": (
        "Anda bisa merekam KTP-el mulai {date}, saat berusia 17 tahun. Kami tunggu kedatangan Anda!|"
        "Sampai saat itu, Kartu Identitas Anak (KIA) tetap menjadi kartu identitas Anda.|"
        "Ada pertanyaan? Petugas di loket siap membantu.",
        "You can record your e-KTP from {date}, when you turn 17. We look forward to seeing you!|"
        "Until then, your child identity card (KIA) remains your identity card.|"
        "Any questions? The officer at the desk is glad to help.",
    ),
    "btn_complete": ("Petugas: selesaikan", "Officer: complete"),
    "btn_exception_photo": ("Ambil foto pengecualian", "Take the exception photo"),
    "btn_sign_off": ("Konfirmasi dan lanjut", "Confirm and go on"),
    "title_officer_confirm": ("Konfirmasi petugas {officer}", "Confirmation by officer {officer}"),
    "body_officer_confirm": (
        "Warga tidak dapat memberikan: {items}.|"
        "Dengan konfirmasi ini Anda menyatakannya sebagai pengecualian, tercatat atas nama Anda.",
        "The resident cannot give: {items}.|"
        "With this confirmation you record them as exceptions, in your name.",
    ),
    "photo_none": ("Foto pengecualian belum diambil.", "No exception photo taken yet."),
    "photo_taking": ("Mengambil foto pengecualian…", "Taking the exception photo…"),
    "photo_taken": ("Foto pengecualian sudah diambil.", "Exception photo taken."),
    "photo_failed": ("Kamera tidak dapat mengambil foto; konfirmasi tetap bisa.",
                     "The camera could not take a photo; you can still confirm."),
    "review_signed_off": ("Pengecualian dikonfirmasi petugas {officer}.", "Exceptions confirmed by officer {officer}."),
    "review_photo": ("Dengan foto.", "With a photo."),
    "review_no_photo": ("Tanpa foto (kamera).", "No photo (camera)."),
    "btn_see_officer": ("Tidak bisa semuanya", "I cannot do any of these"),
    "btn_device_officer": ("Ke petugas", "Get an officer"),
    "btn_confirm": ("Lanjut", "Next"),
    "btn_backspace": ("Hapus", "Delete"),
    "btn_extend": ("Tambah waktu", "More time"),
    "btn_agree": ("Saya setuju", "I agree"),
    "btn_decline": ("Tidak setuju", "I do not agree"),
    "btn_begin_capture": ("Ambil", "Capture"),
    "btn_retry": ("Coba lagi", "Try again"),
    "btn_continue": ("Lanjut", "Next"),
    "btn_exception": ("Tidak bisa", "Cannot do this"),
    "btn_singles": ("Satu per satu", "One at a time"),
    "btn_submit": ("Kirim", "Send"),
    "btn_disability": ("Ya, disabilitas", "Yes, disability"),
    "btn_no_disability": ("Tidak", "No"),
    "btn_large_text": ("Huruf besar", "Large text"),
    "btn_scan_qr": ("Pindai QR", "Scan QR"),
    "btn_space": ("Spasi", "Space"),
    "btn_page_prev": ("‹ Balik", "‹ Back"),
    "btn_page_next": ("Berikut ›", "More ›"),
    "lang_id": ("Indonesia", "Indonesia"),
    "lang_en": ("English", "English"),
    # options
    "opt_new_recording": ("Rekam e-KTP baru", "New e-KTP recording"),
    "opt_replacement": ("Ganti KTP hilang/rusak", "Replace lost/damaged card"),
    "opt_correction": ("Perbaikan data", "Correct my data"),
    "opt_status": ("Cek status", "Check status"),
    "opt_feedback": ("Saran / pengaduan", "Feedback / complaint"),
    "opt_lost": ("Hilang", "Lost"),
    "opt_damaged": ("Rusak", "Damaged"),
    "opt_name": ("Nama", "Name"),
    "opt_address": ("Alamat", "Address"),
    "opt_birth_date": ("Tanggal lahir", "Date of birth"),
    "opt_religion": ("Agama", "Religion"),
    "opt_marital_status": ("Status kawin", "Marital status"),
    "opt_occupation": ("Pekerjaan", "Occupation"),
    "opt_service": ("Pelayanan", "Service"),
    "opt_waiting": ("Waktu tunggu", "Waiting time"),
    "opt_facility": ("Fasilitas", "Facilities"),
    "opt_staff": ("Petugas", "Staff"),
    "opt_other": ("Lainnya", "Other"),
    "opt_missing": ("Tidak ada", "Missing"),
    "opt_injured": ("Terluka", "Injured"),
    "opt_unable": ("Tidak mampu", "Unable"),
    "opt_poor_quality": ("Kualitas rendah", "Poor quality"),
    # what is captured
    "what_face": ("Foto wajah", "Face photo"),
    "what_finger": ("Sidik jari", "Fingerprints"),
    "what_iris": ("Iris mata", "Irises"),
    "what_signature": ("Tanda tangan", "Signature"),
    "pos_face": ("Wajah", "Face"),
    "pos_signature": ("Tanda tangan", "Signature"),
    "pos_right_iris": ("Mata kanan", "Right eye"),
    "pos_left_iris": ("Mata kiri", "Left eye"),
    "pos_right_thumb": ("Jempol kanan", "Right thumb"),
    "pos_right_index": ("Telunjuk kanan", "Right index"),
    "pos_right_middle": ("Tengah kanan", "Right middle"),
    "pos_right_ring": ("Manis kanan", "Right ring"),
    "pos_right_little": ("Kelingking kanan", "Right little"),
    "pos_left_thumb": ("Jempol kiri", "Left thumb"),
    "pos_left_index": ("Telunjuk kiri", "Left index"),
    "pos_left_middle": ("Tengah kiri", "Left middle"),
    "pos_left_ring": ("Manis kiri", "Left ring"),
    "pos_left_little": ("Kelingking kiri", "Left little"),
    # statuses
    "state_QUEUED": ("Sudah diterima pusat, menunggu dikirim ke SIAK.", "Received by the centre, waiting to go to SIAK."),
    "state_SENT_FOR_ENROLLMENT": ("Sedang diproses SIAK.", "Being processed by SIAK."),
    "state_BIO_CAPTURED": ("Biometrik diterima SIAK.", "Biometrics accepted by SIAK."),
    "state_PRINT_READY": ("KTP siap dicetak. Silakan ambil di kantor.", "Your card is ready to print. Collect it at the office."),
    "state_DUPLICATE": ("Data sudah pernah terekam. Hubungi loket.", "Already recorded before. Please see the desk."),
    "state_ADJUDICATE": ("Perlu pemeriksaan petugas.", "Needs an officer's review."),
    "state_ENROLL_FAILURE": ("Gagal diproses. Hubungi loket.", "Processing failed. Please see the desk."),
    "state_PENDING": ("Tersimpan di anjungan, menunggu jaringan.", "Saved at this kiosk, waiting for the network."),
    "state_REJECTED": ("Ditolak pusat. Hubungi loket.", "Refused by the centre. Please see the desk."),
    "state_UNREACHABLE": (
        "Pusat belum dapat dihubungi. Coba lagi nanti atau tanyakan di loket.",
        "The centre cannot be reached right now. Try again later or ask at the desk.",
    ),
    "status_checking": ("Sedang memeriksa…", "Checking…"),
    "state_UNKNOWN": (
        "Belum tercatat di pusat. Jika baru saja merekam, coba lagi nanti, atau tanyakan di loket.",
        "Not at the centre yet. If you recorded just now, try again later, or ask at the desk.",
    ),
    "state_unknown": (
        "Tiket tidak dikenal di anjungan ini. Pindai QR pada struk, atau tanyakan di loket.",
        "This kiosk does not know that ticket. Scan the QR on your receipt, or ask at the desk.",
    ),
    # input problems
    "err_digits_only": ("Hanya angka.", "Digits only."),
    "err_too_long": ("Terlalu panjang.", "Too long."),
    "err_nik_region": ("Angka 1-6 (kode wilayah) tidak dikenal. Periksa lagi.", "Digits 1-6 (region code) are not a known district. Please check."),
    "err_nik_date": ("Angka 7-12 (tanggal lahir) tidak mungkin. Periksa lagi.", "Digits 7-12 (birth date) cannot be right. Please check."),
    "err_nik_length": ("NIK harus 16 angka.", "The NIK has 16 digits."),
    "err_nik_invalid": ("NIK tidak valid. Periksa Kartu Keluarga.", "This NIK is not valid. Check your family card."),
    "err_kk_length": ("Nomor KK harus 16 angka.", "The family card number has 16 digits."),
    "err_kk_invalid": ("Nomor KK tidak valid.", "This family card number is not valid."),
    "err_officer_id": ("Nomor petugas 4-18 angka.", "The officer number has 4-18 digits."),
    "err_pin_wrong": ("PIN salah. Sisa {left} kali percobaan.", "Wrong PIN. {left} tries left."),
    "err_pin_locked": ("Mode petugas terkunci {minutes} menit lagi (PIN salah 3 kali).",
                       "Officer mode is locked for {minutes} more minutes (3 wrong PINs)."),
    "officer_visit": ("Petugas {officer} masuk: setiap warga dibantu petugas sampai keluar.",
                      "Officer {officer} signed in: every resident is assisted until sign-out."),
    "btn_sign_out": ("Keluar petugas", "Officer sign-out"),
    "err_empty": ("Belum ada tulisan.", "Nothing typed yet."),
    "err_pick_position": ("Pilih dulu yang tidak bisa.", "First pick what cannot be captured."),
    "err_ticket_invalid": ("Nomor tiket tidak valid.", "That ticket number is not valid."),
    "err_ticket_check_digit": ("Angka terakhir tidak cocok. Periksa lagi nomor di struk.",
                               "The last digit doesn't match. Check the number on the receipt."),
    "err_qr_invalid": ("QR ini bukan struk anjungan.", "This QR is not a kiosk receipt."),
    "fail_unavailable": ("alat tidak tersambung", "device not connected"),
    "fail_timeout": ("alat tidak menjawab", "device did not answer"),
    "fail_failed": ("gagal", "failed"),
    # timeout, receipt, speech
    "timeout_warning": (
        "Masih di sana? Layar kembali ke awal dalam {seconds} detik.",
        "Still there? The screen starts over in {seconds} seconds.",
    ),
    "say_timeout_warning": ("Masih di sana? Sentuh Tambah waktu.", "Still there? Touch More time."),
    "receipt_title": ("ANJUNGAN e-KTP", "e-KTP KIOSK"),
    "receipt_ticket": ("Nomor tiket: {ticket}", "Ticket number: {ticket}"),
    "receipt_service": ("Layanan: {service}", "Service: {service}"),
    "receipt_kiosk": ("Anjungan: {kiosk}", "Kiosk: {kiosk}"),
    "receipt_time": ("Waktu: {time}", "Time: {time}"),
    "receipt_note": ("Cek status dengan tiket atau QR ini.", "Check the status with this ticket or QR."),
    "assisted_banner": ("Mode petugas", "Officer mode"),
}


def t(key: str, lang: str, **params: object) -> str:
    """The string for `key` in `lang`, formatted."""
    pair = STRINGS[key]
    text = pair[LANGS.index(lang)]
    return text.format(**params) if params else text
