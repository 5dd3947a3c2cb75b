// audio.js: the audio guide — one <audio> with a captions <track>; cue text is handed to the DOM and the VR caption.

export class AudioGuide {
  /**
   * @param {HTMLElement} container where the <audio controls> element lives (inside the object panel)
   * @param {(text: string) => void} onCaption called with the active cue text ('' when none)
   */
  constructor(container, onCaption) {
    this.container = container;
    this.onCaption = onCaption;
    this.audio = null;
    this.source = null;
  }

  /** Replace the current audio with `track` ({src, captions}) in `language`; captions go to onCaption. */
  load(track, language, label) {
    this.stop();
    this.container.replaceChildren();
    if (!track || !track.src) { this.audio = null; this.source = null; return null; }
    const audio = document.createElement('audio');
    audio.controls = true;
    audio.preload = 'metadata';
    audio.src = track.src;
    audio.setAttribute('aria-label', label || 'audio');
    if (track.captions) {
      const trackElement = document.createElement('track');
      trackElement.kind = 'captions';
      trackElement.src = track.captions;
      trackElement.srclang = language;
      trackElement.label = label || language;
      trackElement.default = true;
      audio.appendChild(trackElement);
      // 'hidden' still fires cuechange but lets us draw the text ourselves (DOM live region + VR plane).
      trackElement.track.mode = 'hidden';
      trackElement.track.addEventListener('cuechange', () => this.onCaption(activeCueText(trackElement.track)));
    }
    audio.addEventListener('ended', () => this.onCaption(''));
    audio.addEventListener('pause', () => { if (audio.ended) this.onCaption(''); });
    this.container.appendChild(audio);
    this.audio = audio;
    this.source = track.src;
    return audio;
  }

  /** Start playing, optionally from startAtMs into the recording (tours use it to start in sync). */
  async play(startAtMs = 0) {
    if (!this.audio) return;
    if (startAtMs > 0) {
      if (this.audio.readyState < 1) {
        await new Promise((resolve) => this.audio.addEventListener('loadedmetadata', resolve, { once: true }));
      }
      this.audio.currentTime = startAtMs / 1000;
    }
    await this.audio.play();
  }

  stop() {
    if (this.audio) { this.audio.pause(); this.onCaption(''); }
  }
}

function activeCueText(track) {
  const cues = track.activeCues ? Array.from(track.activeCues) : [];
  return cues.map((cue) => (cue.text || '').replace(/<[^>]+>/g, '')).join('\n').trim();
}
