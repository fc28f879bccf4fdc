"""The kiosk app's shell: runs the pure flow, performs its actions, draws, publishes.

One thread owns the flow, the outbox and the drawing; captures run on one worker thread
(peripherals block) and come back as events; the face camera's live preview
(`kiosk/preview.py`) and the headphone jack (`kiosk/headphones.py`) are each asked on a
thread of their own, whose latest answer this one only reads; paho's thread only queues link
events.
Both clocks are injected (`clock`: wall time, `monotonic`: the touch guard's), so no method
reads the time itself and tests drive it without sleeping. `flow_now()` is `clock()` plus a
skip the headless scripts use to jump over waits; packets and the publisher always use
`clock()` alone.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from anjungan import __version__
from anjungan.contact import mask_contact
from anjungan.errors import AnjunganError
from anjungan.messages import Feedback, Health, HelpReason, HelpRequest
from anjungan.nik import redact
from anjungan.packet.model import PacketError
from anjungan.sdnotify import Watchdog
from anjungan.topics import TopicKind
from drivers.peripherals import Peripherals
from kiosk.errors import FlowError
from kiosk.flow.capture import previewing
from kiosk.flow.machine import Flow
from kiosk.flow.model import (
    UNREACHABLE,
    Action,
    CallOfficer,
    CaptureDone,
    CaptureFailed,
    CaptureProgress,
    Event,
    ForgetLookup,
    Headphones,
    Hush,
    LookupStatus,
    OfficerComing,
    PrinterState,
    PrintReceipt,
    ReadScreen,
    ReceiptFailed,
    RequestCapture,
    SavePinLock,
    Screen,
    SendFeedback,
    SessionWiped,
    Speak,
    StatusAnswer,
    Stored,
    StoreFailed,
    StorePacket,
    Tick,
    TimeoutWarning,
    Touch,
)
from kiosk.headphones import JackWatcher
from kiosk.i18n import t
from kiosk.officers import save_pin_lock
from kiosk.outbox import Outbox
from kiosk.ports import capture, failure_reason
from kiosk.preview import LivePreview
from kiosk.publisher import Publisher
from kiosk.receipt import receipt_lines
from kiosk.speech import Speaker
from kiosk.submit import SealingKeys, seal_and_store
from kiosk.ui.focus import MOVE_KEYS, NEXT_KEYS, Focus
from kiosk.ui.geometry import Placed
from kiosk.ui.keyboard import ENTER, KeyboardInput
from kiosk.ui.screen import Renderer
from kiosk.ui.views import View, Widget, build_view, preview_tip, utterance, with_preview

log = logging.getLogger("anjungan.kiosk")


@dataclass
class Journal:
    """One JSON line per notable event on stdout: what tests and technicians read. Never a
    NIK, a name or a biometric."""

    out: object = sys.stdout

    def write(self, event: str, **fields: object) -> None:
        print(json.dumps({"event": event, **fields}), file=self.out, flush=True)  # type: ignore[call-overload]


TOUCH_GUARD_S = 0.4  # a touch this soon after a new screen appears only counts as activity:
# a double tap meant for the last screen never presses what now lies under the finger


class KioskApp:
    def __init__(self, *, flow: Flow, renderer: Renderer, peripherals: Peripherals, outbox: Outbox,
                 keys: SealingKeys, publisher: Publisher | None = None, speaker: Speaker | None = None,
                 screenshots: Path | None = None, journal: Journal | None = None,
                 session_id: str = "", cert_expires_at: float | None = None,
                 clock: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.clock, self.monotonic = clock, monotonic  # wall time (packets, flow), and the touch guard's
        self.flow, self.renderer, self.peripherals, self.outbox = flow, renderer, peripherals, outbox
        self.keys, self.publisher = keys, publisher
        self.watchdog: Watchdog | None = None  # systemd's, pinged every turn of the loop
        self.speaker = speaker or Speaker(enabled=False)
        self.screenshots, self.journal = screenshots, journal or Journal()
        self.session_id, self.cert_expires_at = session_id, cert_expires_at
        self.cert_valid_from: float | None = None  # with cert_expires_at: when this kiosk may sign
        self.skip = 0.0  # seconds a script has jumped ahead
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="capture")
        self._capture: tuple[int, Future] | None = None
        self._progress = self._shown_progress = (0, 0)  # (token, positions read) of the capture out
        self._view: View | None = None
        self.preview = LivePreview(peripherals)  # the face camera's live frames, off this thread
        self.jack: JackWatcher | None = None  # headphones plugged in, where the platform tells
        self._tips: tuple[str, str] = ("", "")  # (the live tip last spoken, the one seen last)
        self._jack_seen: bool | None = None
        self._shown_at = 0.0  # self.monotonic() when the current screen first appeared
        self._drawn_focus = ""
        self._shots = 0
        self.last_capture_at: float | None = None
        self.tickets: list[str] = []
        self.last_qr = ""
        self._lookups: dict[str, tuple[int, str]] = {}  # query id -> token, ticket (the flow keeps the deadline)
        self.help_request = ""  # this session's help request id ('' when none was sent)
        self.keyboard = KeyboardInput()  # a physical keyboard or a keyboard-wedge QR scanner
        self.focus = Focus()  # the control Tab and the arrows reach (ADA 707.6)
        self.pin_lock_path: Path | None = None  # where the officer-PIN lockout is kept across restarts

    def flow_now(self) -> float:
        return self.clock() + self.skip

    # ---- events in ---------------------------------------------------------------------------
    def dispatch(self, event: Event) -> None:
        before = self.flow.screen
        try:
            actions = self.flow.handle(event, self.flow_now())
        except FlowError as exc:
            self.journal.write("ignored", reason=str(exc))
            return
        if self.flow.screen is not before:
            self.journal.write("screen", screen=self.flow.screen.value)
        for action in actions:
            self._perform(action)

    def tap(self, widget_id: str) -> Widget:
        """Touch the centre of a visible widget: the same path a finger takes. A widget on
        another page of the screen is reached as a resident would, with "‹ Previous" and
        "More ›"."""
        placed = self._placed(widget_id)
        if placed is None and self._view is not None and self._view.find(widget_id) is not None:
            for turn in ("page:prev", "page:next"):
                while placed is None and (pager := self._placed(turn)) is not None:
                    self.dispatch(pager.widget.event)
                    placed = self._placed(widget_id)
        if placed is None:
            raise LookupError(widget_id)
        widget = self.renderer.hit(placed.box.center)
        assert widget is not None
        self.dispatch(widget.event)
        return widget

    def _placed(self, widget_id: str) -> Placed | None:
        self.render()
        frame = self.renderer.frame
        return next((p for p in frame.buttons if p.widget.id == widget_id), None) if frame else None

    def touch(self, pos: tuple[int, int]) -> None:
        """A finger (or mouse) at `pos`: the button there, or just activity when it hit none,
        came within `TOUCH_GUARD_S` of a new screen appearing, or came before the new screen
        was even drawn (the frame under the finger is the old one)."""
        widget = self.renderer.hit(pos)
        stale = self._view is None or self._view.screen is not self.flow.screen
        if widget is None or stale or self.monotonic() - self._shown_at < TOUCH_GUARD_S:
            self.dispatch(Touch())
        else:
            self.dispatch(widget.event)

    def key(self, char: str, name: str, *, shift: bool = False) -> None:
        """A key pressed on a physical keyboard or typed by a keyboard-wedge scanner. Tab and
        the arrows move the focus (read aloud when speech is on); Enter presses the focused
        control, or, with nothing focused, keeps its typing meaning."""
        if name in MOVE_KEYS:
            self.render()
            if self.renderer.frame is not None:
                step = -1 if shift or name not in NEXT_KEYS else 1
                widget = self.focus.move(self.renderer.frame, step)
                if widget is not None and self.flow.session.speech:
                    self.speaker.say(widget.label, self.flow.session.lang, replace_waiting=True)
            self.dispatch(Touch())  # activity
            self.render()
            return
        focused = self.focus.current(self.renderer.frame)
        if name in ENTER and focused is not None:
            self.keyboard.line = ""
            self.dispatch(focused.widget.event)
            self.render()
            return
        events = self.keyboard.key(self.flow.screen, char, name, self.monotonic())
        for event in events or [Touch()]:  # any key is activity
            self.dispatch(event)

    def visible(self) -> list[str]:
        self.render()
        return [p.widget.id for p in self.renderer.frame.buttons] if self.renderer.frame else []

    def offered(self) -> list[str]:
        """What the screen offers, on whichever of its pages (`tap` turns to it)."""
        self.render()
        return [w.id for w in self._view.widgets()] if self._view is not None else []

    def busy(self) -> bool:
        return (self._capture is not None or bool(self._lookups)
                or self.flow.screen in (Screen.CAPTURING, Screen.SUBMITTING))

    # ---- the loop body -----------------------------------------------------------------------
    def step(self) -> None:
        if self.watchdog is not None:
            self.watchdog.ping()
        self.speaker.pump()
        self._follow_jack()
        self._finish_capture()
        self.dispatch(Tick())
        if self.publisher is not None:
            self.publisher.pump(self.clock())
        self._finish_lookups()
        self._officer_coming()
        self.render()

    def render(self) -> None:
        self._follow_preview()
        view = with_preview(self.flow, build_view(self.flow, self.flow_now()), self.preview.latest)
        if view == self._view and self.focus.widget_id == self._drawn_focus:
            return
        live_only = (self._view is not None and _still(view) == _still(self._view)
                     and self.focus.widget_id == self._drawn_focus)
        if view.preview is not None:
            self._say_tip(preview_tip(view.preview), view.lang)
        if self._view is None or view.screen is not self._view.screen or view.page != self._view.page:
            self._shown_at = self.monotonic()  # a new page is a new screen under the finger
            if self._view is not None:
                self.focus.clear()  # a new screen starts with nothing focused
        self._view = view
        self.renderer.draw(view, focus=self.focus.widget_id)
        self._drawn_focus = self.focus.widget_id
        if self.screenshots is not None and not live_only:  # one shot a screen, not one a frame
            self._shots += 1
            self.renderer.save(self.screenshots / f"{self._shots:03d}_{view.screen.value}.png")

    def _follow_jack(self) -> None:
        """Headphones plugged in or out (a change the watcher saw; 'cannot tell' is none)."""
        state = self.jack.state if self.jack is not None else None
        if state is not None and state != self._jack_seen:
            self._jack_seen = state
            self.journal.write("headphones", plugged=state)
            self.dispatch(Headphones(plugged=state))

    def _say_tip(self, tip: str, lang: str) -> None:
        """With speech on, a live tip is said once it holds for two frames in a row, and
        only when it differs from the last one said (the screen's reading is never cut)."""
        said, seen = self._tips
        if tip == seen and tip != said and self.flow.session.speech:
            self.speaker.say(t(f"say_hint_{tip}", lang), lang)
            said = tip
        self._tips = (said, tip)

    def _follow_preview(self) -> None:
        """The live preview runs while the flow shows a face screen, and stops the moment it
        does not (its thread ends after the frame in hand)."""
        wanted = previewing(self.flow)
        if wanted and not self.preview.running:
            self.preview.start()
            self.journal.write("preview", on=True)
        elif not wanted and self.preview.running:
            frames = self.preview.frames
            self.preview.stop()
            self._tips = ("", "")
            self.journal.write("preview", on=False, frames=frames)

    def _finish_capture(self) -> None:
        if self._capture is not None and self._progress != self._shown_progress:
            self._shown_progress = token_done = self._progress
            self.dispatch(CaptureProgress(token=token_done[0], done=token_done[1]))
        if self._capture is None or not self._capture[1].done():
            return
        token, fut = self._capture
        self._capture = None
        try:
            samples = fut.result()
        except Exception as exc:  # any device failure is a failed try, never a crash
            self.journal.write("capture_failed", reason=failure_reason(exc), error=type(exc).__name__)
            self.dispatch(CaptureFailed(token=token, reason=failure_reason(exc)))
            return
        self.last_capture_at = self.clock()
        self.journal.write("captured", positions=[s.position for s in samples], quality=[s.quality for s in samples])
        self.dispatch(CaptureDone(token=token, samples=samples))

    # ---- actions out -------------------------------------------------------------------------
    def _perform(self, action: Action) -> None:
        if isinstance(action, RequestCapture):
            if self._refused_out_of_service():
                self.dispatch(CaptureFailed(token=action.token, reason="unavailable"))
                return
            self._progress = (action.token, 0)
            token = action.token

            def progress(done: int) -> None:  # capture thread: one tuple assignment, read in step()
                self._progress = (token, done)

            fut = self._worker.submit(capture, self.peripherals, action.modality, action.positions, progress)
            self._capture = (action.token, fut)
        elif isinstance(action, StorePacket):
            self._store(action.token)
        elif isinstance(action, PrintReceipt):
            self._print(action)
        elif isinstance(action, LookupStatus):
            self._lookup(action)
        elif isinstance(action, ForgetLookup):
            self._forget_lookup(action)
        elif isinstance(action, SendFeedback):
            now = self.clock()
            fb = Feedback(kiosk_id=self.keys.kiosk_id, feedback_id=str(uuid.uuid4()), at=now,
                          category=action.category, text=redact(action.text), lang=action.lang,
                          contact=action.contact)
            self.outbox.add_message("feedback", fb.to_json(), now)
            self.journal.write("feedback_queued", feedback_id=fb.feedback_id, category=action.category,
                               contact=mask_contact(action.contact))  # never in full
        elif isinstance(action, Speak):
            self.speaker.say(t(action.key, action.lang), action.lang)
        elif isinstance(action, ReadScreen):
            if action.screen is self.flow.screen:  # a prompt never outlives its screen
                view = build_view(self.flow, self.flow_now())
                self.speaker.say(utterance(view), view.lang, replace_waiting=True)
        elif isinstance(action, Hush):
            self.speaker.hush()
        elif isinstance(action, TimeoutWarning):
            self.journal.write("timeout_warning", screen=action.screen.value)
        elif isinstance(action, CallOfficer):
            self._call_officer(action)
        elif isinstance(action, SavePinLock):
            self._save_pin_lock(action)
        elif isinstance(action, SessionWiped):
            self._capture = None
            self.help_request = ""  # an answer to it is no longer this resident's
            self.check_printer()
            for query_id in self._lookups:
                if self.publisher is not None:
                    self.publisher.forget(query_id)
            self._lookups.clear()
            self.journal.write("session_wiped", reason=action.reason)  # its "screen" line is dispatch's

    def _call_officer(self, action: CallOfficer) -> None:
        """One help request per session goes to the staff dashboard, kept in the outbox until
        the fleet monitor has it (a second press only tells the journal)."""
        if not self.help_request:
            now = self.clock()
            request = HelpRequest(kiosk_id=self.keys.kiosk_id, request_id=str(uuid.uuid4()),
                                  screen=action.screen, at=now, reason=HelpReason(action.reason))
            self.outbox.add_message(TopicKind.HELP, request.to_json(), now)
            self.help_request = request.request_id
        self.journal.write("help_requested", screen=action.screen, reason=action.reason,
                           request_id=self.help_request)

    def _save_pin_lock(self, action: SavePinLock) -> None:
        """Saved before it is journalled: a kiosk killed after the line has the file."""
        lock = action.lock
        if self.pin_lock_path is not None:
            try:
                save_pin_lock(self.pin_lock_path, lock)
            except OSError as exc:  # the lock still holds in memory for this run
                self.journal.write("officer_lock_unsaved", error=type(exc).__name__)
        self.journal.write("officer_lock", failures=lock.failures, locked=lock.locked(self.flow_now()))

    def _officer_coming(self) -> None:
        if self.publisher is None or not self.publisher.help_coming:
            return
        coming, self.publisher.help_coming = self.publisher.help_coming, set()
        if self.help_request in coming:
            self.journal.write("officer_coming", request_id=self.help_request)
            self.dispatch(OfficerComing())

    def _lookup(self, action: LookupStatus) -> None:
        """A ticket this kiosk printed is answered from its outbox; a receipt QR from another
        kiosk is asked of the centre (answered in `_finish_lookups`; the flow keeps the
        deadline and says `ForgetLookup` when it passes)."""
        if not action.packet_id or action.kiosk_id == self.keys.kiosk_id:
            state = self.outbox.ticket_state(action.ticket)
            self.dispatch(StatusAnswer(token=action.token, ticket=action.ticket, state=state))
            return
        query_id = self.publisher.query(action.packet_id) if self.publisher is not None else None
        if query_id is None:  # offline: say so now rather than make the resident wait
            self.dispatch(StatusAnswer(token=action.token, ticket=action.ticket, state=UNREACHABLE))
            return
        self.journal.write("status_query", ticket=action.ticket)
        self._lookups[query_id] = (action.token, action.ticket)

    def _finish_lookups(self) -> None:
        if not self._lookups or self.publisher is None:
            return
        for query_id, (token, ticket) in list(self._lookups.items()):
            reply = self.publisher.replies.pop(query_id, None)
            if reply is None:
                continue
            del self._lookups[query_id]
            self.journal.write("status_answer", ticket=ticket, state=reply.state)
            self.dispatch(StatusAnswer(token=token, ticket=ticket, state=reply.state))

    def _forget_lookup(self, action: ForgetLookup) -> None:
        """The flow waits no longer (its deadline passed, or the resident moved on): a late
        reply is dropped by the publisher."""
        for query_id, (token, _ticket) in list(self._lookups.items()):
            if token == action.token:
                del self._lookups[query_id]
                if self.publisher is not None:
                    self.publisher.forget(query_id)
        if action.expired:
            self.journal.write("status_answer", ticket=action.ticket, state=UNREACHABLE)

    def out_of_service(self, now: float) -> str:
        """Why this kiosk must not sign now ('' if it may): a clock outside its certificate's
        validity makes packets the centre refuses (stale, future, expired), so it makes none,
        keeps its outbox, and says so in its health."""
        if self.cert_expires_at is not None and now > self.cert_expires_at:
            return "clock past the certificate's expiry"
        if self.cert_valid_from is not None and now < self.cert_valid_from:
            return "clock before the certificate's start"
        return ""

    def _refused_out_of_service(self) -> bool:
        reason = self.out_of_service(self.clock())
        if reason:
            self.journal.write("out_of_service", reason=reason)
        return bool(reason)

    def _store(self, token: int) -> None:
        if self._refused_out_of_service():
            self.dispatch(StoreFailed(token=token, reason="out_of_service"))
            return
        try:
            receipt = seal_and_store(self.flow.session, keys=self.keys, outbox=self.outbox, now=self.clock())
        except (AnjunganError, PacketError, ValueError) as exc:
            self.journal.write("store_failed", error=str(exc)[:200])
            self.dispatch(StoreFailed(token=token, reason=type(exc).__name__))
            return
        self.tickets.append(receipt.ticket)
        self.last_qr = receipt.qr_payload
        self.journal.write("stored", ticket=receipt.ticket, packet_id=receipt.packet_id,
                           sequence=receipt.sequence, priority=receipt.priority.label)
        self.dispatch(Stored(token=token, ticket=receipt.ticket, qr_payload=receipt.qr_payload))

    def _print(self, action: PrintReceipt) -> None:
        lines = receipt_lines(ticket=action.ticket, purpose=action.purpose, lang=action.lang,
                              kiosk_id=self.keys.kiosk_id, now=self.clock())
        try:
            self.peripherals.print_receipt(lines, qr_data=action.qr_payload)
        except AnjunganError as exc:  # the screen keeps ticket and QR and says to note them
            self.journal.write("receipt_failed", ticket=action.ticket, error=str(exc)[:200])
            self.dispatch(ReceiptFailed(token=self.flow.token))
            return
        self.journal.write("receipt_printed", ticket=action.ticket)

    # ---- health ------------------------------------------------------------------------------
    def check_printer(self, devices: dict[str, dict] | None = None) -> None:
        """Tell the flow whether a receipt can print, before the next resident starts: at
        start-up, after every session and with every health report."""
        devices = _peripheral_health(self.peripherals) if devices is None else devices
        ok = bool(devices.get("printer", {}).get("ok", False))
        if ok != self.flow.printer_ok:
            self.journal.write("printer", ok=ok)
            self.dispatch(PrinterState(ok=ok))

    def health(self, now: float) -> Health:
        oldest = self.outbox.oldest_created_at()
        usage = shutil.disk_usage(Path.cwd())
        devices = _peripheral_health(self.peripherals)
        self.check_printer(devices)
        controller = devices.get("controller", {})
        return Health(
            kiosk_id=self.keys.kiosk_id, session_id=self.session_id, at=now,
            peripherals=devices, outbox_depth=self.outbox.depth(),
            outbox_rejected=self.outbox.rejected_count(),
            firmware_version=str(controller.get("version", "")),
            tamper=bool(controller.get("tamper", False)),
            outbox_oldest_s=0.0 if oldest is None else max(0.0, now - oldest),
            disk_free_pct=round(100 * usage.free / usage.total, 1), temperature_c=_temperature(),
            app_version=__version__, cert_expires_at=self.cert_expires_at,
            last_capture_at=self.last_capture_at, out_of_service=self.out_of_service(now),
        )

    def close(self) -> None:
        self.preview.close()
        if self.jack is not None:
            self.jack.close()
        self._worker.shutdown(wait=False, cancel_futures=True)


def _still(view: View) -> View:
    """A view without its live parts: what a screenshot is taken of."""
    return dataclasses.replace(view, preview=None, bars=())


def _peripheral_health(p: Peripherals) -> dict[str, dict]:
    try:
        return p.health()
    except AnjunganError as exc:
        return {"peripherals": {"ok": False, "detail": str(exc)[:120]}}


def _temperature() -> float | None:
    try:
        return int(Path("/sys/class/thermal/thermal_zone0/temp").read_text()) / 1000
    except (OSError, ValueError):
        return None
