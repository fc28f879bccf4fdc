"""Pages: the content column as blocks, and blocks onto pages. Pure."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from kiosk.ui.geometry import Box, Placed, Text


@dataclass(kw_only=True)
class Block:
    """One piece of the content column: placed at y=0, moved to its page's place."""

    h: int
    texts: list[Text] = dataclasses.field(default_factory=list)
    buttons: list[Placed] = dataclasses.field(default_factory=list)
    field: Box | None = None
    qr: Box | None = None
    picture: Box | None = None
    bars: list[tuple[int, Box]] = dataclasses.field(default_factory=list)  # (which of `View.bars`, where)
    group: int = 0  # a group keeps to one page when a page can hold it
    low: bool = False  # anchored at the bottom of the page (choices, keys)

    def moved(self, dx: int, dy: int) -> Block:
        def box(b: Box) -> Box:
            return Box(b.x + dx, b.y + dy, b.w, b.h)

        return Block(
            h=self.h, group=self.group, low=self.low,
            texts=[dataclasses.replace(t, x=t.x + dx, y=t.y + dy) for t in self.texts],
            buttons=[dataclasses.replace(p, box=box(p.box)) for p in self.buttons],
            field=box(self.field) if self.field else None, qr=box(self.qr) if self.qr else None,
            picture=box(self.picture) if self.picture else None, bars=[(i, box(b)) for i, b in self.bars],
        )



def paginate(blocks: list[Block], room: int, gap: int) -> list[list[Block]]:
    """Greedy, in order; a group (`group` > 0) that a fresh page can hold is not split."""
    pages: list[list[Block]] = [[]]
    used, i = 0, 0
    while i < len(blocks):
        j = i
        while blocks[i].group > 0 and j + 1 < len(blocks) and blocks[j + 1].group == blocks[i].group:
            j += 1
        run, i = blocks[i:j + 1], j + 1
        need = sum(b.h + gap for b in run)
        if used + need <= room + gap:
            pages[-1].extend(run)
            used += need
            continue
        if need <= room + gap:
            pages.append(list(run))
            used = need
            continue
        for b in run:  # taller than a page: one block at a time
            if used + b.h > room and pages[-1]:
                pages.append([])
                used = 0
            pages[-1].append(b)
            used += b.h + gap
    return [p for p in pages if p] or [[]]
