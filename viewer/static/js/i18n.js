// i18n.js: UI strings (zh, en) and language-map lookup with the exhibit's fallback rules.

// One table for the whole interface (viewer/templates/ui-strings.json), which the exhibit page carries inline.
const STRINGS = JSON.parse(document.getElementById('ui-strings').textContent);

export const UI_STRINGS = STRINGS.ui;

export const RECORD_FIELDS = STRINGS.record_fields;

/** The UI-strings table closest to a BCP-47 tag ('zh-Hant' → zh), English otherwise. */
export function uiTable(language) {
  const base = String(language || 'en').split('-')[0].toLowerCase();
  return UI_STRINGS[base] || UI_STRINGS.en;
}

export class I18n {
  constructor(languages, defaultLanguage) {
    this.languages = languages.length ? languages : [defaultLanguage || 'en'];
    this.defaultLanguage = defaultLanguage || this.languages[0];
    this.language = this.defaultLanguage;
  }

  /** A UI string, with {name} placeholders filled from params. */
  t(key, params = {}) {
    const text = uiTable(this.language)[key] ?? UI_STRINGS.en[key] ?? key;
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
