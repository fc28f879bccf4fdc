"""Screenshots of the resident's kiosk for docs/screenshots/kiosk: every screen at 800x480
(the official 7" panel), Indonesian and English, normal and large text, the face guide also
with the camera's live preview and the exception screens also for the eyes; a handful of key
screens at 720x1280 and 1920x1080. Drawn by the kiosk's own renderer (SDL dummy driver),
walked by `tests.kiosk.screens.every_view`; saved as small palette PNGs.

    python -m tests.kiosk.make_screenshots docs/screenshots/kiosk
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import sys
from pathlib import Path

KEY_SCREENS = ("welcome", "menu", "nik_error", "capture_guide_face_preview", "capture_guide_slap",
               "capture_result_ok", "capture_result_low", "capture_exception", "exception_reason",
               "exception_reason_eyes", "review", "feedback_text", "done")
SIZES = ((800, 480), (720, 1280), (1920, 1080))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.kiosk.make_screenshots", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="folder to write into (size/lang/text/NN_screen.png)")
    parser.add_argument("--only", nargs="*", metavar="SCREEN", help="these screens only, at every size")
    parser.add_argument("--colours", type=int, default=48, help="palette size of each PNG (default 48)")
    args = parser.parse_args(argv)
    if not 2 <= args.colours <= 256:
        parser.error("--colours must be 2-256")
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    from PIL import Image

    from kiosk.ui.screen import Renderer
    from tests.kiosk.screens import every_view

    written = 0
    for size in SIZES:
        wanted = set(args.only) if args.only else (None if size == SIZES[0] else set(KEY_SCREENS))
        r = Renderer(*size)
        try:
            for lang in ("id", "en"):
                for large in (False, True):
                    folder = args.out / f"{size[0]}x{size[1]}" / lang / ("large" if large else "normal")
                    for i, (name, built) in enumerate(every_view(lang)):
                        if wanted is not None and name not in wanted:
                            continue
                        view = dataclasses.replace(built, large_text=large)
                        shots = [(f"{i:02d}_{name}", "")]
                        if name == "welcome" and size == SIZES[0] and not args.only:
                            shots.append((f"{i:02d}_{name}_keyboard_focus", "start"))  # Tab reached Start
                        for file, focus in shots:
                            r.draw(view, focus=focus) if focus else r.draw(view)
                            buf = io.BytesIO()
                            _save(r, buf)
                            image = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
                            folder.mkdir(parents=True, exist_ok=True)
                            image.quantize(colors=args.colours).save(folder / f"{file}.png", optimize=True)
                            written += 1
        finally:
            r.close()
    print(f"{written} screenshots in {args.out}")
    return 0


def _save(renderer: object, buf: io.BytesIO) -> None:
    import pygame

    pygame.image.save(renderer.surface, buf, "png")  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
