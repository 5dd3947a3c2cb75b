// i18n.js: UI strings (zh, en) with plural forms, language-map lookup with the exhibit's fallback rules, rights labels.

// One table for the whole interface (viewer/templates/ui-strings.json), which the exhibit page carries inline.
const STRINGS = JSON.parse(document.getElementById('ui-strings').textContent);

export const UI_STRINGS = STRINGS.ui;

export const RECORD_FIELDS = STRINGS.record_fields;

/**
 * The UI-strings table closest to a BCP-47 tag: the tag's own (an exhibit's ui-strings.yaml may add one), else its
 * base language's ('zh-Hant' → zh), else English.
 */
export function uiTable(language) {
  const base = String(language || 'en').split('-')[0].toLowerCase();
  return UI_STRINGS[language] || UI_STRINGS[base] || UI_STRINGS.en;
}

export class I18n {
  constructor(languages, defaultLanguage) {
    this.languages = languages.length ? languages : [defaultLanguage || 'en'];
    this.defaultLanguage = defaultLanguage || this.languages[0];
    this.language = this.defaultLanguage;
  }

  /**
   * A UI string, with {name} placeholders filled from params. A string with plural forms ({one, other, ...},
   * CLDR categories) is chosen by Intl.PluralRules for params.n in the table's language.
   */
  t(key, params = {}) {
    const table = uiTable(this.language);
    let text = table[key] ?? UI_STRINGS.en[key] ?? key;
    if (typeof text === 'object') {
      const language = table[key] !== undefined ? this.language : 'en';
      const category = new Intl.PluralRules(language).select(Number(params.n ?? 0));
      text = text[category] ?? text.other;
    }
    return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ''));
  }

  /** One language out of a manifest language map: current, then the exhibit default, then any. */
  pick(map) {
    if (map == null) return '';
    if (typeof map === 'string') return map;
    for (const key of [this.language, this.defaultLanguage]) if (map[key]) return String(map[key]);
    for (const value of Object.values(map)) if (value) return String(value);
    return '';
  }

  /** The BCP-47 tag a pick() result is really in, so the DOM can carry the right lang attribute. */
  langOf(map) {
    if (map == null || typeof map === 'string') return this.language;
    for (const key of [this.language, this.defaultLanguage]) if (map[key]) return key;
    return Object.keys(map).find((key) => map[key]) || this.language;
  }
}

/** An artifact's label, never blank: its record title, else its panel text's first line, else its alt text, else its id. */
export function artifactTitle(artifact, i18n) {
  const firstLine = (text) => text.split('\n')[0].trim();
  return i18n.pick(artifact.record?.title) || firstLine(i18n.pick(artifact.text)) || i18n.pick(artifact.alt) || artifact.id;
}

const CC_LICENCE = /^https?:\/\/creativecommons\.org\/licenses\/([a-z-]+)\/(\d+(?:\.\d+)?)(?:\/([a-z]{2}))?\/?$/i;
const CC_PUBLIC_DOMAIN = /^https?:\/\/creativecommons\.org\/publicdomain\/(zero|mark)\/(\d+(?:\.\d+)?)\/?$/i;
const RIGHTS_STATEMENT = /^https?:\/\/rightsstatements\.org\/(?:vocab|page)\/([A-Za-z-]+)\/(\d+(?:\.\d+)?)\/?$/;

/**
 * A rights URI as people name it: "CC BY 4.0", "CC0 1.0", "In copyright" (RightsStatements.org, translated), or
 * null when the value is not a URI we know (then it is shown as written).
 */
export function rightsLabel(uri, i18n) {
  const value = String(uri || '').trim();
  let match = CC_LICENCE.exec(value);
  if (match) return `CC ${match[1].toUpperCase()} ${match[2]}${match[3] ? ` ${match[3].toUpperCase()}` : ''}`;
  match = CC_PUBLIC_DOMAIN.exec(value);
  if (match) return match[1].toLowerCase() === 'zero' ? `CC0 ${match[2]}` : i18n.t('pdm', { version: match[2] });
  match = RIGHTS_STATEMENT.exec(value);
  if (match && UI_STRINGS.en[`rs_${match[1]}`]) return i18n.t(`rs_${match[1]}`);
  return null;
}

// What three.js's VRButton and ARButton write on themselves, and the UI string that says it in every language.
const XR_BUTTON_TEXTS = {
  'ENTER VR': 'enterVr', 'EXIT VR': 'exitVr', 'VR NOT SUPPORTED': 'vrNotSupported', 'VR NOT ALLOWED': 'vrNotAllowed',
  'START AR': 'startAr', 'STOP AR': 'stopAr', 'AR NOT SUPPORTED': 'arNotSupported', 'AR NOT ALLOWED': 'arNotAllowed',
  'WEBXR NEEDS HTTPS': 'xrNeedsHttps', 'WEBXR NOT AVAILABLE': 'xrNotAvailable',
};

/**
 * Keep a three.js XR button in the page's language: each time three.js writes its English label, swap in the
 * translation and mark the button with data-i18n, so that a later language switch re-translates it too.
 */
export function localizeXrButton(button, i18n) {
  const translate = () => {
    const key = XR_BUTTON_TEXTS[button.textContent.trim()];
    if (!key) return;
    button.dataset.i18n = key;
    button.textContent = i18n.t(key);
  };
  new MutationObserver(translate).observe(button, { childList: true, characterData: true, subtree: true });
  translate();
}
