// A Home Assistant dashboard card for the door page, served by Node-RED beside the page.
// Add this file as a dashboard resource (JavaScript module) by its URL, then a card
// `type: custom:intercom-door-card` (optional: `url` of another page, `height`). The card
// frames the page with the permissions a call needs (microphone, autoplay), which a plain
// webpage card does not grant to another origin; the page's own origin must be allowed to
// be framed: list Home Assistant's origin under the SIP account's Other origins.
const PAGE = new URL('./', import.meta.url).href;
let texts = {};

class IntercomDoorCard extends HTMLElement {
  setConfig(config) {
    this.config = { ...(config || {}) };
    this.render();
  }

  // Home Assistant hands every card its state; the page talks to Node-RED itself.
  set hass(_hass) {}

  getCardSize() {
    return 9;
  }

  render() {
    const root = this.shadowRoot || this.attachShadow({ mode: 'open' });
    root.replaceChildren();
    const card = document.createElement('ha-card');
    const frame = document.createElement('iframe');
    frame.src = this.config.url || PAGE;
    frame.allow = 'microphone; camera; autoplay; fullscreen';
    frame.title = texts.cardName || '';
    frame.style.cssText = `display:block;width:100%;border:0;height:${Number(this.config.height) || 620}px;border-radius:var(--ha-card-border-radius,12px)`;
    card.appendChild(frame);
    root.appendChild(card);
  }

  static getStubConfig() {
    return {};
  }
}

if (!customElements.get('intercom-door-card')) customElements.define('intercom-door-card', IntercomDoorCard);

// The card picker's name and description, in the page's language.
fetch(new URL('api/config', PAGE), { cache: 'no-store' })
  .then((r) => r.json())
  .then((cfg) => {
    texts = cfg.texts || {};
    window.customCards = window.customCards || [];
    window.customCards.push({ type: 'intercom-door-card', name: texts.cardName || 'intercom-door-card', description: texts.cardDescription || '' });
  })
  .catch(() => undefined);
