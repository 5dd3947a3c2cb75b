// i18n.js: UI strings (zh, en) and language-map lookup with the exhibit's fallback rules.

export const UI_STRINGS = {
  en: {
    loading: 'Loading…', loadingRooms: 'Loading rooms {n} of {total}…', ready: 'Ready. Select an object from the list or in the 3D view.',
    artifacts: 'Objects', text_page: 'Text page', language: 'Language', close: 'Close', report: 'Build report',
    all_exhibits: 'All exhibitions', record: 'Record', rights: 'Rights', credit: 'Credit', description: 'Description',
    annotations: 'Details', audio: 'Audio guide', captions: 'Captions', creator: 'Maker', date: 'Date',
    culture: 'Culture', material: 'Material', dimensions: 'Dimensions', accession: 'Accession number', source: 'Source',
    playAudio: 'Play the audio guide', selected: 'Selected: {title}', closed: 'Panel closed', roomFailed: 'Room {room} could not be loaded',
    canvasLabel: '3D view. Keys: W A S D or arrows to walk and turn, Escape to close a panel.',
    help: 'Drag to look or orbit, click the floor to walk there, click an object to select it. Keys: W A S D / arrows.',
    noWebgl: 'The 3D view needs WebGL. Every object also has a text page.',
    arSubject: 'Place in AR', arPlaced: 'Placed. Select again to move it.', arAim: 'Point at a surface and select to place.',
    exitAr: 'Exit AR', tableTop: 'Table-top model: {room}', lifeSize: 'Life size: {title}', openText: 'Open the text page',
    hotspot: 'Detail: {title}', guide: 'Guide', joinTour: 'Join a tour',
  },
  zh: {
    loading: '加载中…', loadingRooms: '正在加载展厅 {n}/{total}…', ready: '已就绪。可从列表或三维视图中选择展品。',
    artifacts: '展品', text_page: '文字页', language: '语言', close: '关闭', report: '构建报告',
    all_exhibits: '全部展览', record: '藏品信息', rights: '版权', credit: '来源', description: '说明',
    annotations: '细节', audio: '语音导览', captions: '字幕', creator: '作者', date: '年代',
    culture: '文化', material: '材质', dimensions: '尺寸', accession: '登录号', source: '出处',
    playAudio: '播放语音导览', selected: '已选择：{title}', closed: '面板已关闭', roomFailed: '展厅 {room} 加载失败',
    canvasLabel: '三维视图。按 W A S D 或方向键行走和转向，按 Esc 关闭面板。',
    help: '拖动以环视或环绕，点击地面走过去，点击展品以选择。键盘：W A S D / 方向键。',
    noWebgl: '三维视图需要 WebGL。每件展品也有文字页。',
    arSubject: '在 AR 中放置', arPlaced: '已放置。再次选择可移动。', arAim: '对准一个平面并选择以放置。',
    exitAr: '退出 AR', tableTop: '桌面模型：{room}', lifeSize: '原大：{title}', openText: '打开文字页',
    hotspot: '细节：{title}', guide: '导览员', joinTour: '加入导览',
  },
};

export const RECORD_FIELDS = ['creator', 'date', 'culture', 'material', 'dimensions', 'accession', 'source'];

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
