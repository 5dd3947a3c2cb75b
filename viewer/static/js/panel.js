// panel.js: the DOM object panel (record, credit line, rights, details, audio guide) and its keyboard behaviour.

import { RECORD_FIELDS, artifactTitle, rightsLabel } from './i18n.js';

export class ObjectPanel {
  /**
   * @param {object} host {i18n, onClose(), onAnnotation(key), audioGuide factory via host.audio}
   */
  constructor(root, host) {
    this.root = root;
    this.host = host;
    this.title = root.querySelector('#panel-title');
    this.body = root.querySelector('#panel-body');
    this.closeButton = root.querySelector('#panel-close');
    this.artifact = null;
    this.returnFocus = null;
    this.closeButton.addEventListener('click', () => this.host.onClose());
    this.title.tabIndex = -1;
  }

  get isOpen() { return !this.root.hidden; }

  open(artifact, { focus = true, annotationKey = null } = {}) {
    if (!this.isOpen && document.activeElement && document.activeElement !== document.body) {
      this.returnFocus = document.activeElement;
    }
    this.artifact = artifact;
    this.render(annotationKey);
    this.root.hidden = false;
    if (focus) this.title.focus({ preventScroll: true });
  }

  close() {
    if (!this.isOpen) return;
    this.root.hidden = true;
    this.artifact = null;
    const target = this.returnFocus;
    this.returnFocus = null;
    if (target && document.contains(target)) target.focus({ preventScroll: true });
  }

  /** Re-render in the current language (keeps the audio element when the language did not change its track). */
  render(annotationKey = null) {
    const { i18n } = this.host;
    const artifact = this.artifact;
    if (!artifact) return;
    const record = artifact.record || {};
    this.closeButton.setAttribute('aria-label', i18n.t('close'));
    this.title.textContent = artifactTitle(artifact, i18n);
    this.title.lang = i18n.langOf(record.title);

    const parts = [];
    const list = el('dl', { className: 'record' });
    for (const field of RECORD_FIELDS) {
      if (!i18n.pick(record[field])) continue;  // the build writes every key, empty ones as {} or ''
      list.append(el('dt', { textContent: i18n.t(field) }), langText('dd', record[field], i18n, field === 'source'));
    }
    if (i18n.pick(record.credit)) list.append(el('dt', { textContent: i18n.t('credit') }), langText('dd', record.credit, i18n));
    const rights = record.rights || this.host.manifest.exhibit.rights;
    if (rights) list.append(el('dt', { textContent: i18n.t('rights') }), rightsText(rights, i18n));
    parts.push(list);
    if (i18n.pick(record.description)) parts.push(langText('p', record.description, i18n));
    else if (i18n.pick(artifact.alt)) parts.push(langText('p', artifact.alt, i18n));
    if (i18n.pick(artifact.text)) {
      const text = langText('p', artifact.text, i18n);
      text.className = 'panel-text';
      parts.push(text);
    }

    const notes = artifact.annotations || [];
    if (notes.length) {
      parts.push(el('h3', { textContent: i18n.t('annotations') }));
      const ul = el('ul', { className: 'annotation-list' });
      for (const note of notes) {
        const button = el('button', { type: 'button', className: 'annotation-button', textContent: i18n.pick(note.title) });
        button.dataset.annotation = note.key;
        button.lang = i18n.langOf(note.title);
        button.setAttribute('aria-pressed', String(note.key === annotationKey));
        button.addEventListener('click', () => this.host.onAnnotation(note.key));
        // Its marker in the 3D view grows while the button has focus or the mouse, so one sees which it is.
        for (const [event, key] of [['focus', note.key], ['mouseenter', note.key], ['blur', null], ['mouseleave', null]]) {
          button.addEventListener(event, () => this.host.onAnnotationFocus?.(key));
        }
        const li = el('li', {}, [button]);
        if (note.key === annotationKey) li.append(langText('p', note.text, i18n));
        if (note.key === annotationKey && this.host.copyLink) li.append(this.host.copyLink({ annotation: note.key }));
        ul.append(li);
      }
      parts.push(ul);
    }

    const track = audioTrack(artifact, i18n);
    if (track) {
      parts.push(el('h3', { textContent: i18n.t('audio') }));
      const slot = el('div', { className: 'audio-slot' });
      parts.push(slot);
      this.host.loadAudio(slot, track.track, track.language);
    } else {
      this.host.loadAudio(null, null, null);
    }
    parts.push(el('p', {}, [el('a', { href: artifact.page || `objects/${artifact.id}.html`, textContent: i18n.t('openText') })]));
    if (this.host.copyLink) parts.push(el('p', {}, [this.host.copyLink({ artifact: artifact.id })]));
    this.body.replaceChildren(...parts);
  }
}

/** The audio for the current language, else the default language's, else none. */
export function audioTrack(artifact, i18n) {
  const audio = artifact.audio || {};
  for (const language of [i18n.language, i18n.defaultLanguage]) {
    if (audio[language] && audio[language].src) return { track: audio[language], language };
  }
  return null;
}

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children);
  return node;
}

/** A rights URI as its name, linked to the licence or statement ("CC BY 4.0", "In copyright"); other values as written. */
function rightsText(rights, i18n) {
  const label = rightsLabel(rights, i18n);
  if (!label) return langText('dd', rights, i18n, true);
  const link = el('a', { href: rights, textContent: label, className: 'rights-link' });
  link.title = rights;
  return el('dd', { className: 'rights' }, [link]);
}

function langText(tag, value, i18n, linkify = false) {
  const text = i18n.pick(value);
  const node = el(tag);
  if (value && typeof value === 'object') node.lang = i18n.langOf(value);
  if (linkify && /^https?:\/\//.test(text)) node.append(el('a', { href: text, textContent: text }));
  else node.textContent = text;
  return node;
}
