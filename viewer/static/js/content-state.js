// content-state.js: IIIF Content State 1.0 — open the room, artifact, annotation or tour stop that a ?iiif-content=
// link names, and write such links ("copy a link to this view") in the same encoding.
//
// The ids are those of the build's IIIF export (docs/standards.md): <exhibit>/iiif/exhibit.json#artifact/<id>,
// #annotation/<artifact>/<note>, #tour/<tour>/stop/<n>, #scene/<room>, and <exhibit>/iiif/objects/<id>.json.
// Only the path after the host is compared, so a link made for the published site also opens in a local preview.

/** content-state-encoding (Content State 1.0, §6): encodeURIComponent, then base64url without "=" padding. */
export function encodeContentState(text) {
  return btoa(encodeURIComponent(text)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The inverse of encodeContentState; throws on a string that is not base64url. */
export function decodeContentState(encoded) {
  let base64 = encoded.replace(/-/g, '+').replace(/_/g, '/');
  const rest = base64.length % 4;
  if (rest === 1) throw new Error('not a content-state-encoded value (wrong length)');
  if (rest) base64 += '===='.slice(rest);
  return decodeURIComponent(atob(base64));
}

/** The IIIF Manifest's id: under exhibit.base_url when the build had one, else beside this page. */
export function manifestId(manifest, pageUrl) {
  const base = manifest.exhibit && manifest.exhibit.base_url;
  return new URL('iiif/exhibit.json', base ? (base.endsWith('/') ? base : `${base}/`) : pageUrl).href;
}

/**
 * The content state naming a view, in the short form the spec recommends for links (the target of an implied
 * contentState Annotation). view: {artifact} | {annotation: 'artifact/note'} | {tour, stop} | {room}.
 */
export function contentStateFor(view, manifest, pageUrl) {
  const manifestUrl = manifestId(manifest, pageUrl);
  let fragment;
  let type = 'Annotation';
  if (view.tour != null) fragment = `tour/${view.tour}/stop/${view.stop}`;
  else if (view.annotation) fragment = `annotation/${view.annotation}`;
  else if (view.artifact) fragment = `artifact/${view.artifact}`;
  else { fragment = `scene/${view.room}`; type = 'Scene'; }
  return { id: `${manifestUrl}#${fragment}`, type, partOf: [{ id: manifestUrl, type: 'Manifest' }] };
}

/** This page's URL with ?iiif-content= naming the view (the hash and other parameters dropped). */
export function linkToView(view, manifest, pageUrl) {
  const url = new URL(pageUrl);
  url.search = '';
  url.hash = '';
  const encoded = encodeContentState(JSON.stringify(contentStateFor(view, manifest, pageUrl)));
  return `${url.href}?iiif-content=${encoded}`;
}

/** The id a content state points at: from the full Annotation, a bare target, a SpecificResource or a URI. */
function targetId(state) {
  let target = state;
  if (target && typeof target === 'object' && target.type === 'Annotation' && [].concat(target.motivation || []).includes('contentState')) {
    target = target.target;
  }
  if (Array.isArray(target)) target = target[0];
  if (typeof target === 'string') return target;
  if (target && target.type === 'SpecificResource') target = target.source;
  if (Array.isArray(target)) target = target[0];
  return target && typeof target === 'object' ? String(target.id || '') : '';
}

/**
 * What a ?iiif-content= value names in this exhibit: {artifact} | {annotation, artifact} | {tour, stop, artifact,
 * annotation, view} | {room}; null when it names nothing here. A plain URI (load by reference) is matched by its id
 * alone: this viewer opens only its own exhibit, so it never needs to fetch one.
 */
export function resolveContentState(value, manifest) {
  const text = String(value || '').trim();
  if (!text) return null;
  let id;
  if (/^https?:\/\//.test(text)) id = text;
  else {
    try { id = targetId(JSON.parse(decodeContentState(text))); } catch { return null; }
  }
  return resolveId(id, manifest);
}

function resolveId(id, manifest) {
  const artifacts = manifest.artifacts || [];
  const byId = new Map(artifacts.map((a) => [a.id, a]));
  const object = /\/iiif\/objects\/([^/#?]+)\.json(?:#.*)?$/.exec(id);
  if (object) {
    const artifactId = decodeURIComponent(object[1]);
    return byId.has(artifactId) ? { artifact: artifactId } : null;
  }
  const hash = id.indexOf('#');
  if (hash < 0 || !/\/iiif\/exhibit\.json$/.test(id.slice(0, hash))) return null;
  const parts = id.slice(hash + 1).split('/').map((part) => decodeURIComponent(part));
  if ((parts[0] === 'artifact' || parts[0] === 'view') && byId.has(parts[1])) return { artifact: parts[1] };
  if (parts[0] === 'annotation') {
    const key = `${parts[1]}/${parts[2]}`;
    const owner = byId.get(parts[1]);
    return owner && (owner.annotations || []).some((n) => n.key === key) ? { artifact: parts[1], annotation: key } : null;
  }
  if (parts[0] === 'tour' && parts[2] === 'stop') {
    const tour = (manifest.tours || []).find((t) => t.id === parts[1]);
    const stop = tour && tour.stops[Number(parts[3])];
    if (!stop) return null;
    return { tour: tour.id, stop: stop.index, artifact: stop.artifact, annotation: stop.annotation || null, view: stop.view };
  }
  if ((parts[0] === 'scene' || parts[0] === 'room') && (manifest.rooms || []).some((r) => r.id === parts[1])) {
    return { room: parts[1] };
  }
  return null;
}

const EYE_HEIGHT = 1.6;

/**
 * Open the view the page's ?iiif-content= names, through the viewer's public API. Returns what was opened, or null
 * (and leaves the viewer as it is) when the parameter is absent or names nothing in this exhibit.
 */
export async function openContentState(viewer, search) {
  const value = new URLSearchParams(search).get('iiif-content');
  if (value == null) return null;
  const manifest = viewer.manifest;
  const found = resolveContentState(value, manifest);
  viewer.contentState = found;
  if (!found) {
    viewer.errors.push(`iiif-content names nothing in this exhibit: ${value.slice(0, 200)}`);
    return null;
  }
  if (found.room) {
    const room = manifest.rooms.find((r) => r.id === found.room);
    const centre = [0, 2].map((axis) => (room.bounds.min[axis] + room.bounds.max[axis]) / 2);
    const floor = room.floor_y ?? room.bounds.min[1];
    await viewer.flyTo({ position: [centre[0], floor + EYE_HEIGHT, centre[1]], target: [centre[0], floor + EYE_HEIGHT, centre[1] - 1] });
    return found;
  }
  viewer.selectArtifact(found.artifact, { annotation: found.annotation || null, fly: !found.view });
  if (found.view) await viewer.flyTo(found.view);
  return found;
}

/**
 * A "copy a link to this view" button. The link goes to the clipboard where the page may write to it (the status line
 * says so), else into a prompt with the link selected; the button's data-link always holds it.
 */
export function copyLinkButton(view, manifest, { label, copied, announce = () => {} }) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'copy-link';
  button.textContent = label;
  button.dataset.link = linkToView(view, manifest, location.href);
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(button.dataset.link);
      announce(copied);
    } catch {
      // No clipboard permission (an http page, or a browser that refuses): select the link text instead.
      window.prompt(label, button.dataset.link);
    }
  });
  return button;
}
