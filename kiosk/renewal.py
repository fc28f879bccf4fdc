"""The kiosk renews its own certificate, in the background, with a fresh key.

At 2/3 of the certificate's life (`provisioning.rekey.RENEW_FRACTION`; 20 days of 30) the
kiosk stages a new Ed25519 key and publishes a `RenewalRequest` on its `renew` topic: a CSR
signed by the new key, its current certificate, and a proof signed by the current key. It
asks again every `retry_s` until the signing service (`provisioning.signer`) answers on its
`renewed` topic. An issued certificate is checked and installed (`provisioning.rekey`: the
old identity stays until the new one is durable), the bundle is re-read and `on_renewed`
hands it to the runner, which signs with the new key and reconnects with the new
certificate. A refusal keeps the current certificate; the kiosk asks again later and the
refusal shows in its health (`last_refusal`).

Time is passed in (`pump(now)`); messages come from the publisher's hook.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from cryptography.hazmat.primitives import serialization

from anjungan import topics
from anjungan.errors import AnjunganError
from anjungan.messages import (
    MessageError,
    RenewalOutcome,
    RenewalReply,
    RenewalRequest,
    renewal_proof_bytes,
)
from anjungan.topics import TopicKind
from kiosk.transport import Transport
from provisioning import rekey
from provisioning import x509 as px
from provisioning.bundle import KioskBundle, load_bundle
from provisioning.files import read_bytes

log = logging.getLogger("anjungan.kiosk.renewal")
RETRY_S = 600.0


def renew_at(bundle: KioskBundle) -> float:
    return bundle.cert_valid_from + (bundle.cert_expires_at - bundle.cert_valid_from) * rekey.RENEW_FRACTION


class Renewer:
    def __init__(self, *, bundle: KioskBundle, transport: Transport,
                 on_renewed: Callable[[KioskBundle], None] = lambda _b: None,
                 retry_s: float = RETRY_S) -> None:
        self.bundle, self.transport, self.on_renewed, self.retry_s = bundle, transport, on_renewed, retry_s
        self._request_id = ""
        self._next_try = 0.0
        self.last_refusal = ""
        self.renewals = 0
        self.reply_topic = topics.topic(bundle.kiosk_id, TopicKind.RENEWED)
        transport.subscribe(self.reply_topic)

    def due(self, now: float) -> bool:
        """Time to renew, or a renewal already under way (a staged key survives a restart)."""
        return now >= renew_at(self.bundle) or rekey.renewing(self.bundle.root)

    def pump(self, now: float) -> None:
        if not self.transport.connected or now < self._next_try or not self.due(now):
            return
        request = self.request(now)
        if self.transport.publish(topics.topic(self.bundle.kiosk_id, TopicKind.RENEW), request.to_json()) is not None:
            self._request_id = request.request_id
            self._next_try = now + self.retry_s
            log.info("renewal requested (certificate expires in %.1f days)",
                     (self.bundle.cert_expires_at - now) / 86400)

    def request(self, now: float) -> RenewalRequest:
        key = rekey.stage_key(self.bundle.root)
        csr = px.make_csr(key, self.bundle.kiosk_id).public_bytes(serialization.Encoding.PEM).decode()
        request_id = str(uuid.uuid4())
        proof = self.bundle.identity.private_key.sign(renewal_proof_bytes(request_id, csr)).hex()
        current = read_bytes(self.bundle.root / "device.pem", "certificate").decode()
        return RenewalRequest(kiosk_id=self.bundle.kiosk_id, request_id=request_id, at=now,
                              csr=csr, certificate=current, proof=proof)

    def on_message(self, payload: bytes, now: float) -> None:
        try:
            reply = RenewalReply.from_json(payload)
        except MessageError as exc:
            log.warning("ignored a malformed renewal reply: %s", exc)
            return
        if reply.outcome is RenewalOutcome.REFUSED:
            if reply.request_id == self._request_id:
                self.last_refusal = reply.reason
                log.error("renewal refused: %s", reply.reason)
            return
        try:  # any issued reply: install checks it is for the staged key
            rekey.install(self.bundle.root, kiosk_id=self.bundle.kiosk_id, certificate=reply.certificate.encode(),
                          chain=reply.chain.encode(), gateway_key=reply.gateway_key.encode(), now=now)
            bundle = load_bundle(self.bundle.root)
        except AnjunganError as exc:
            log.warning("renewal reply not installed: %s", exc)
            return
        self.bundle, self._request_id, self._next_try, self.last_refusal = bundle, "", 0.0, ""
        self.renewals += 1
        log.warning("certificate renewed; valid until %.0f", bundle.cert_expires_at)
        self.on_renewed(bundle)
