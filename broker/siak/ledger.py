"""The simulator's enrollment ledger: idempotency, duplicate NIKs, state progression.

Pure: `now` is passed in. An enrollment starts SENT_FOR_ENROLLMENT (or DUPLICATE when the
NIK already holds an enrollment from another key and the service is a new recording),
reaches BIO_CAPTURED after `bio_after_s`, then PRINT_READY after `print_after_s`; a
`adjudicate_every`-th enrollment goes to ADJUDICATE instead (0 = never), a
`failure_every`-th to ENROLL_FAILURE.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from anjungan.messages import SiakState
from anjungan.nik import mask
from broker.siak.contract import EnrollmentView, Submission


class KeyReuse(ValueError):
    """The same idempotency key with a different document: refused (422)."""


@dataclass(kw_only=True)
class Enrollment:
    key: str
    enrollment_id: str
    digest: str
    nik_masked: str
    kiosk_id: str
    priority: int
    at: float
    end_state: SiakState
    start_state: SiakState


@dataclass(kw_only=True)
class Ledger:
    bio_after_s: float = 1.0
    print_after_s: float = 2.0
    adjudicate_every: int = 0
    failure_every: int = 0
    enrollments: dict[str, Enrollment] = field(default_factory=dict)
    by_nik: dict[str, str] = field(default_factory=dict)  # NIK digest -> first key
    duplicate_submissions: int = 0  # same key submitted again (a retry SIAK absorbed)

    def submit(self, key: str, sub: Submission, digest: str, *, now: float) -> EnrollmentView:
        known = self.enrollments.get(key)
        if known is not None:
            if known.digest != digest:
                raise KeyReuse("idempotency key reused with a different document")
            self.duplicate_submissions += 1
            return EnrollmentView(enrollment_id=known.enrollment_id, state=self.state(known, now=now),
                                  replay=True)
        nik_key = hashlib.sha256(sub.nik.encode()).hexdigest()  # the ledger keeps no NIK
        n = len(self.enrollments) + 1
        start = SiakState.SENT_FOR_ENROLLMENT
        if nik_key in self.by_nik and sub.service == "new_recording":
            start = SiakState.DUPLICATE
        end = SiakState.PRINT_READY
        if self.failure_every and n % self.failure_every == 0:
            end = SiakState.ENROLL_FAILURE
        elif self.adjudicate_every and n % self.adjudicate_every == 0:
            end = SiakState.ADJUDICATE
        self.by_nik.setdefault(nik_key, key)
        rec = Enrollment(
            key=key, enrollment_id=f"SIAK-{n:08d}", digest=digest, nik_masked=mask(sub.nik),
            kiosk_id=sub.kiosk_id, priority=sub.priority, at=now, end_state=end, start_state=start,
        )
        self.enrollments[key] = rec
        return EnrollmentView(enrollment_id=rec.enrollment_id, state=start)

    def state(self, rec: Enrollment, *, now: float) -> SiakState:
        if rec.start_state is SiakState.DUPLICATE:
            return SiakState.DUPLICATE
        age = now - rec.at
        if age >= self.bio_after_s + self.print_after_s:
            return rec.end_state
        if age >= self.bio_after_s:
            return SiakState.BIO_CAPTURED
        return SiakState.SENT_FOR_ENROLLMENT

    def view(self, key: str, *, now: float) -> EnrollmentView | None:
        rec = self.enrollments.get(key)
        if rec is None:
            return None
        return EnrollmentView(enrollment_id=rec.enrollment_id, state=self.state(rec, now=now))
