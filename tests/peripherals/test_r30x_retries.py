"""Retries where the protocols allow them: an R30x image reassembled packet by packet across
UpImage passes (pure core, then the driver under seeded noise), and the ESC/POS status query
that believes a status only when two answers agree."""

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers import imaging
from drivers import r30x_codec as codec
from drivers.r30x_image import ImageAssembler, UploadPass, split_upload

SIZE = 32  # small packets keep the pure tests fast: 8 slots of 32 bytes
SLOTS = 8


def _image(seed: int) -> bytes:
    return random.Random(seed).randbytes(SIZE * SLOTS)


def _stream(image: bytes, ack: int = codec.OK) -> bytes:
    out = codec.build(codec.PID_ACK, bytes((ack,)))
    for slot in range(SLOTS):
        pid = codec.PID_END if slot == SLOTS - 1 else codec.PID_DATA
        out += codec.build(pid, image[slot * SIZE : (slot + 1) * SIZE])
    return out


def _truth(image: bytes) -> dict[int, bytes]:
    return {s: image[s * SIZE : (s + 1) * SIZE] for s in range(SLOTS)}


def test_clean_stream_fills_every_slot():
    image = _image(1)
    upload = split_upload(_stream(image), SIZE, SLOTS)
    assert (upload.confirmation, upload.aligned, upload.ended) == (codec.OK, True, True)
    assert upload.packets == _truth(image)


def test_lost_ack_and_lost_packets_keep_their_slots():
    image = _image(2)
    stream = bytearray(_stream(image))
    stream[0] ^= 0x10  # the acknowledge's header: not seen at all
    stream[12 + 2 * 43 + 20] ^= 0x01  # slot 2's payload (12 ack + 2 strides of 11 + 32)
    stream[12 + 5 * 43 + 1] ^= 0x80  # slot 5's header
    upload = split_upload(bytes(stream), SIZE, SLOTS)
    assert upload.confirmation is None
    assert upload.packets == {s: p for s, p in _truth(image).items() if s not in (2, 5)}


def test_dropped_byte_does_not_shift_later_slots():
    image = _image(3)
    stream = bytearray(_stream(image))
    del stream[12 + 3 * 43 + 15]  # a byte of slot 3 is lost: slot 3 fails, 4.. stay put
    upload = split_upload(bytes(stream), SIZE, SLOTS)
    assert upload.packets == {s: p for s, p in _truth(image).items() if s != 3}


@settings(deadline=None)
@given(st.integers(0, 2**32 - 1), st.lists(st.integers(0, 10_000), max_size=12))
def test_single_flips_never_put_a_wrong_packet_in_a_slot(seed, hits):
    """One flipped bit per packet at most: the sum check catches it, so every packet kept is
    the true one, in the true slot (however many are lost)."""
    image = _image(seed)
    stream = bytearray(_stream(image))
    stride = 11 + SIZE
    touched = set()
    for hit in hits:
        pos = hit % len(stream)
        packet = (pos - 12) // stride if pos >= 12 else -1
        if packet in touched:
            continue
        touched.add(packet)
        stream[pos] ^= 1 << (hit % 8)
    upload = split_upload(bytes(stream), SIZE, SLOTS)
    truth = _truth(image)
    assert all(truth[slot] == payload for slot, payload in upload.packets.items())


def test_assembler_fills_gaps_across_passes_and_wants_two_copies_on_a_noisy_line():
    image = _image(4)
    truth = _truth(image)
    quiet = ImageAssembler(SLOTS, SIZE)
    quiet.add(UploadPass(confirmation=0, packets=truth, aligned=True, ended=True))
    assert quiet.votes_needed == 1 and quiet.image() == image  # a clean pass is enough
    noisy = ImageAssembler(SLOTS, SIZE)
    half = {s: p for s, p in truth.items() if s % 2}
    noisy.add(UploadPass(confirmation=0, packets=half, aligned=True, ended=False))
    # 4 of 8 packets lost: a byte error rate of about 1.6e-2, where a double flip the sum
    # misses is likely somewhere in the image, so every slot needs two equal copies
    assert noisy.votes_needed == 2 and noisy.missing() == SLOTS
    noisy.add(UploadPass(confirmation=0, packets=truth, aligned=True, ended=True))
    assert noisy.missing() == 4  # the odd slots now have two copies
    wrong = dict(truth)
    wrong[0] = bytes(SIZE)  # a damaged copy that passed the sum check
    noisy.add(UploadPass(confirmation=0, packets=wrong, aligned=True, ended=True))
    assert noisy.missing() == 1  # slot 0: one good copy against one bad, undecided
    noisy.add(UploadPass(confirmation=0, packets={0: truth[0]}, aligned=True, ended=False))
    assert noisy.complete() and noisy.image() == image


def _fingerprint_rig(noise: float, seed: int):
    from drivers.peripherals import FingerprintLink
    from drivers.simulators.line import Impairments
    from drivers.simulators.rig import SimulatedPeripherals, SimulatedRig

    rig = SimulatedRig(seed=seed, devices=("fingerprint",), baud={"fingerprint": 921600},
                       impairments=Impairments(paced=False, noise=noise, seed=seed),
                       fingerprint_link=FingerprintLink.R30X)  # wired straight to the Pi
    rig.sims["fingerprint"].no_finger_rate = 0.0
    return rig, SimulatedPeripherals(rig)


@pytest.mark.slow
def test_fingerprint_at_noise_5e4_returns_the_exact_image():
    """At one byte in 2 000 hardly any 40 kB upload is clean; the image comes together from
    several passes, and every command whose answer was damaged is asked again."""
    rig, p = _fingerprint_rig(5e-4, seed=21)
    try:
        for _ in range(2):
            cap = p.capture_finger("left_thumb")
            assert imaging.pack_nibbles(cap.image) == rig.sims["fingerprint"].image
        h = p.health()["fingerprint"]
        assert h["images"] == 2 and h["upload_passes"] > 2 and h["corrupted_images_rejected"] == 0
        # 128-byte packets stay the cheapest at 5e-4 (r30x_image.best_packet_size)
        assert h["packet_size_changes"] == 0 and rig.sims["fingerprint"].packet_size == 128
    finally:
        p.close()


def test_packet_size_follows_the_error_rate():
    from drivers.r30x import IMAGE_BYTES
    from drivers.r30x_image import best_packet_size, expected_passes

    chosen = [best_packet_size(IMAGE_BYTES, p, codec.PACKET_SIZES)
              for p in (0.0, 1e-5, 1e-4, 1e-3, 3e-3)]
    assert chosen == [256, 256, 64, 64, 32]
    assert expected_passes(IMAGE_BYTES, 128, 0.0) == 1.0
    # 128 at 1e-4 must have two copies of each packet (1.6e-3 undetected per image on one)
    assert 3.0 < expected_passes(IMAGE_BYTES, 128, 1e-4) < 3.3
    assert 1.9 < expected_passes(IMAGE_BYTES, 64, 1e-4) < 2.1  # one copy suffices: 8.4e-4
    for p in (float("nan"), -1.0, 2.0):  # a nonsense estimate never picks a size off the list
        assert best_packet_size(IMAGE_BYTES, p, codec.PACKET_SIZES) in codec.PACKET_SIZES


@pytest.mark.slow
@pytest.mark.parametrize("noise", [0.0, 1e-4, 1e-3])
def test_fingerprint_packet_size_follows_the_line(noise):
    """The first upload measures the line; the next run in the packets that suit what was
    measured (on a clean line the largest), and every image is still exact."""
    from drivers.r30x import IMAGE_BYTES
    from drivers.r30x_image import best_packet_size

    rig, p = _fingerprint_rig(noise, seed=23)
    try:
        driver = p.device("fingerprint")
        for _ in range(3):
            want = (128 if driver.byte_error_rate is None else
                    best_packet_size(IMAGE_BYTES, driver.byte_error_rate, codec.PACKET_SIZES))
            cap = p.capture_finger("right_index")
            assert imaging.pack_nibbles(cap.image) == rig.sims["fingerprint"].image
            assert driver.packet_size == rig.sims["fingerprint"].packet_size == want
        assert p.health()["fingerprint"]["corrupted_images_rejected"] == 0
        if noise == 0.0:
            assert driver.packet_size == 256
    finally:
        p.close()


@pytest.mark.slow
def test_fingerprint_on_a_hopeless_line_fails_clearly():
    from drivers.errors import PeripheralError

    rig, p = _fingerprint_rig(2e-2, seed=22)
    try:
        with pytest.raises(PeripheralError) as info:
            p.capture_finger("left_thumb")
        assert str(info.value).startswith("fingerprint: ") and "\n" not in str(info.value)
    finally:
        p.close()


class ScriptedPrinter:
    """A transport whose answers to each status query are scripted (None: no answer)."""

    baud = 19200
    is_open = True

    def __init__(self, answers):
        self.answers = list(answers)
        self.queries = 0
        self._pending = b""

    def write(self, data):
        if data.startswith(b"\x10\x04"):
            self.queries += 1
            answer = self.answers.pop(0)
            self._pending = b"" if answer is None else bytes((answer,))

    def read(self, max_bytes=4096):
        out, self._pending = self._pending[:max_bytes], self._pending[max_bytes:]
        return out


@pytest.mark.parametrize(
    "answers,queries",
    [
        ([0x12, 0x12, 0x12, 0x12], 4),  # two agreeing answers per query, printer then paper
        ([0x1A, 0x12, 0x12, 0x12, 0x12], 5),  # a flip to "offline" (bit 3) is not believed
        ([None, 0x13, 0x12, 0x12, 0x12, 0x12], 6),  # lost, then fixed bit 0 broken: asked again
    ],
    ids=["clean", "flipped-offline", "lost-and-invalid"],
)
def test_printer_status_believes_two_agreeing_answers(answers, queries):
    from drivers.printer import PrinterDriver

    t = ScriptedPrinter(answers)
    drv = PrinterDriver(t)  # type: ignore[arg-type]
    drv.connect()
    assert t.queries == queries and drv.stats["status_retries"] == queries - 4


def test_printer_offline_and_paper_out_are_believed_when_confirmed():
    from drivers.errors import DeviceTimeout, PeripheralError
    from drivers.printer import STATUS_TRIES, PrinterDriver

    with pytest.raises(PeripheralError, match="offline"):
        PrinterDriver(ScriptedPrinter([0x1A, 0x1A])).connect()  # type: ignore[arg-type]
    with pytest.raises(PeripheralError, match="out of paper"):
        PrinterDriver(ScriptedPrinter([0x12, 0x12, 0x72, 0x72])).connect()  # type: ignore[arg-type]
    with pytest.raises(DeviceTimeout, match=f"no status answer in {STATUS_TRIES} queries"):
        PrinterDriver(ScriptedPrinter([None] * STATUS_TRIES)).connect()  # type: ignore[arg-type]
    flapping = [0x12, 0x1A] * (STATUS_TRIES // 2)
    with pytest.raises(PeripheralError, match="no two status answers agreed"):
        PrinterDriver(ScriptedPrinter(flapping)).connect()  # type: ignore[arg-type]


@pytest.mark.slow
def test_printer_prints_over_a_noisy_line(tmp_path):
    from drivers.printer import PrinterDriver
    from drivers.simulators.line import Impairments, Line
    from drivers.simulators.printer_sim import PrinterSim
    from drivers.transport import SerialTransport

    sim = PrinterSim().start()
    line = Line(sim.fd, Impairments(baud=19200, noise=0.05, seed=3), str(tmp_path / "lp")).start()
    drv = PrinterDriver(SerialTransport(line.path, 19200, device="printer"))
    try:
        drv.connect()
        for _ in range(3):
            drv.print_receipt(["Nomor tiket: A-0042"], qr_data="A-0042")
        assert drv.stats["receipts"] == 3 and drv.stats["status_retries"] > 0
    finally:
        drv.close()
        line.stop()
        sim.stop()


@pytest.mark.slow
def test_bulk_fails_only_at_its_deadline_naming_device_and_error_rate(tmp_path):
    from anjungan.packet.model import Modality
    from drivers.cameras import CameraDriver
    from drivers.errors import TransferFailed
    from drivers.simulators.camera_sim import CameraSim
    from drivers.simulators.line import Impairments, Line
    from drivers.transport import SerialTransport

    sim = CameraSim(Modality.IRIS, seed=2).start()
    line = Line(sim.fd, Impairments(baud=921600, noise=0.005, seed=5), str(tmp_path / "ir")).start()
    cam = CameraDriver(SerialTransport(line.path, 921600, device="iris"), Modality.IRIS)
    cam._transfer_budget = lambda: 3.0  # type: ignore[method-assign]
    progress = []
    real = cam.client.receive_object
    cam.client.receive_object = lambda **kw: real(**kw, progress=lambda n, size: progress.append(n))  # type: ignore[method-assign]
    try:
        cam.connect()
        with pytest.raises(TransferFailed) as info:
            cam.capture("right_iris")
        assert re.fullmatch(
            r"iris: bulk transfer incomplete at its deadline: \d+ of \d+ B after \d+\.\d s; "
            r"\d+ of \d+ frames arrived damaged \(error rate \d+\.\d%\)", str(info.value),
        )
        assert progress and progress == sorted(progress)  # reported as it came, never back
        assert cam.client.progress[0] == progress[-1] < cam.client.progress[1]
    finally:
        cam.close()
        line.stop()
        sim.stop()
