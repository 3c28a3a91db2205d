"""Drop slots: a ``gr.HTML`` that accepts gallery thumbnails dragged with the mouse.

Gradio has no component that receives an item dragged out of a ``gr.Gallery``; its thumbnails are ordinary
draggable ``<img>``s whose ``text/uri-list`` is their ``/gradio_api/file=…/s_<id>.png`` URL. The slot's
``js_on_load`` listens for ``dragover`` / ``drop`` on its element (delegated: the content re-renders) and calls
``trigger('sample_drop', {url})``, which fires the Python listener ``slot.sample_drop``. That payload is
client-controlled, so the handler maps it back to a sample the server made (``SampleRegistry.resolve_drop``) and
refuses anything else. Clicking a slot adds the sample last clicked in a gallery (the fallback to dragging).
"""

import base64
import html

import gradio as gr

from .common import Studio
from .errors import StudioError
from .samples import Sample

SLOT_JS = r"""
const over = (on) => element.classList.toggle('drop-over', on);
element.addEventListener('dragover', (e) => {
  e.preventDefault(); if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy'; over(true);
});
element.addEventListener('dragenter', (e) => { e.preventDefault(); over(true); });
element.addEventListener('dragleave', () => over(false));
element.addEventListener('drop', (e) => {
  e.preventDefault(); over(false);
  const dt = e.dataTransfer;
  let url = (dt.getData('text/uri-list') || dt.getData('text/plain') || '').split('\n')[0].trim();
  if (!url) { const m = (dt.getData('text/html') || '').match(/src="([^"]+)"/); if (m) url = m[1]; }
  trigger('sample_drop', {url: url.slice(0, 2048)});
});
element.addEventListener('click', () => trigger('slot_click', {}));
"""

SLOT_CSS = """
.slot {
  border: 2px dashed var(--border-color-primary); border-radius: 8px; min-height: 96px; padding: 6px; cursor: copy;
}
.slot-title { font-weight: 600; margin-bottom: 4px; }
.slot-items { display: flex; flex-wrap: wrap; gap: 4px; }
.slot-items img { width: 56px; height: 56px; image-rendering: pixelated; border-radius: 4px; }
.slot-hint { color: var(--body-text-color-subdued); font-size: 0.85em; }
"""

OVER_CSS = ".drop-over .slot { border-color: var(--color-accent); background: var(--color-accent-soft); }"


def _data_uri(sample: Sample) -> str:
    return "data:image/png;base64," + base64.b64encode(sample.thumb.read_bytes()).decode("ascii")


def render(title: str, samples: list[Sample], hint: str = "drag samples here, or click a sample then this slot") -> str:
    imgs = "".join(
        f'<img src="{_data_uri(s)}" alt="{html.escape(s.label)}" title="{html.escape(s.label)}" data-sample="{s.id}">'
        for s in samples
        if s.thumb.is_file()
    )
    count = f" ({len(samples)})" if samples else ""
    body = imgs or f'<span class="slot-hint">{html.escape(hint)}</span>'
    title = f'<div class="slot-title">{html.escape(title)}{count}</div>'
    return f'<div class="slot">{title}<div class="slot-items">{body}</div></div>'


def add(studio: Studio, ids: list[str] | None, payload, capacity: int) -> list[str]:
    """The slot's ids after a drop: ``payload`` must map to a server sample; a full slot drops its oldest item."""
    sample = studio.samples.resolve_drop(payload)
    ids = [i for i in (ids or []) if studio.samples.get(i) is not None]
    ids.append(sample.id)
    return ids[-capacity:]


def slot_samples(studio: Studio, ids: list[str] | None) -> list[Sample]:
    return [s for s in (studio.samples.get(i) for i in (ids or [])) if s is not None]


def event_payload(evt) -> object:
    data = getattr(evt, "_data", None)
    return data if data is not None else {}


class DropSlot:
    """A drop slot with its server-side state (the ids it holds), wired to drops and clicks."""

    def __init__(self, studio: Studio, title: str, capacity: int, selected: gr.State, elem_id: str):
        self.studio, self.title, self.capacity = studio, title, capacity
        self.ids = gr.State([])
        self.html = gr.HTML(
            render(title, []),
            js_on_load=SLOT_JS,
            css_template=SLOT_CSS + OVER_CSS,
            elem_id=elem_id,
            elem_classes=["drop-slot"],
            padding=False,
        )
        self.error = None

        def on_drop(ids, evt: gr.EventData):
            try:
                new = add(studio, ids, event_payload(evt), capacity)
            except StudioError as exc:
                gr.Warning(str(exc), duration=6)
                return gr.skip(), gr.skip()
            return new, render(title, slot_samples(studio, new))

        def on_click(ids, sid):
            if not sid:
                gr.Info("click a sample in the gallery first, then the slot")
                return gr.skip(), gr.skip()
            try:
                new = add(studio, ids, sid, capacity)
            except StudioError as exc:
                gr.Warning(str(exc), duration=6)
                return gr.skip(), gr.skip()
            return new, render(title, slot_samples(studio, new))

        # as the visitor behind the request: the registry shows each visitor their own samples only
        self.html.sample_drop(studio.handler(on_drop), [self.ids], [self.ids, self.html], api_visibility="private")
        self.html.slot_click(
            studio.handler(on_click), [self.ids, selected], [self.ids, self.html], api_visibility="private"
        )

    def clear(self):
        return [], render(self.title, [])
