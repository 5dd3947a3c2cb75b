// quicklook.js: AR on phones without WebXR — AR Quick Look (USDZ) on iPhones and iPads, Scene Viewer on Android
// where WebXR AR is missing. The build lists a USDZ only for artifacts whose rights let the model leave the site.

const QUICK_LOOK_ICON = 'data:image/svg+xml,' + encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28" viewBox="0 0 28 28"><path fill="none" '
  + 'stroke="#ffffff" stroke-width="2" d="M14 3 4 8.5v11L14 25l10-5.5v-11zM4 8.5 14 14l10-5.5M14 14v11"/></svg>');

// Which AR hand-off this browser gets for an artifact: {kind: 'quicklook' | 'scene-viewer', href} or null.
export function arHandOff(artifact, { quickLook, android, webxrAR, pageUrl, title }) {
  if (!artifact || !artifact.usdz) return null;
  if (quickLook) return { kind: 'quicklook', href: new URL(artifact.usdz, pageUrl).href };
  // Scene Viewer needs a glTF of the artifact alone: its downloadable (full) level, which the same rights allow.
  const glb = (artifact.levels || []).find((level) => level.download)?.glb;
  if (android && !webxrAR && glb) {
    const file = new URL(glb, pageUrl).href;
    const query = `file=${encodeURIComponent(file)}&mode=ar_preferred&title=${encodeURIComponent(title)}`;
    const fallback = encodeURIComponent(pageUrl);
    return {
      kind: 'scene-viewer',
      href: `intent://arvr.google.com/scene-viewer/1.2?${query}#Intent;scheme=https;package=com.google.ar.core;`
        + `action=android.intent.action.VIEW;S.browser_fallback_url=${fallback};end;`,
    };
  }
  return null;
}

export function quickLookSupported() {
  return document.createElement('a').relList.supports?.('ar') ?? false;
}

// A link in `container` that follows `current()` (the selected artifact, else the AR chooser's): AR Quick Look
// wants <a rel="ar"> whose only child is an image.
export function mountARHandOff(container, { i18n, titleOf, current, webxrAR }) {
  const link = document.createElement('a');
  link.id = 'ar-handoff';
  link.className = 'ar-handoff';
  link.hidden = true;
  const icon = document.createElement('img');
  icon.src = QUICK_LOOK_ICON;
  icon.width = 28;
  icon.height = 28;
  link.append(icon);
  container.append(link);
  const context = {
    quickLook: quickLookSupported(),
    android: /Android/i.test(navigator.userAgent),
    pageUrl: window.location.href,
  };
  const update = async () => {
    const artifact = current();
    const title = artifact ? titleOf(artifact) : '';
    const handOff = arHandOff(artifact, { ...context, webxrAR: await webxrAR, title });
    link.hidden = !handOff;
    if (!handOff) { link.removeAttribute('href'); return; }
    link.href = handOff.href;
    link.dataset.kind = handOff.kind;
    if (handOff.kind === 'quicklook') link.rel = 'ar'; else link.removeAttribute('rel');
    const label = i18n.t('viewInRoom', { title });
    link.title = label;
    icon.alt = label;
  };
  update();
  return update;
}
