/**
 * Body / URL / header templates for the generic HTTP and MQTT actions:
 * `{{msg.call.from.user}}`, `{{door.id}}`, `{{msg.payload}}`. Only plain dotted paths,
 * no expressions: a template is configuration, a message is untrusted input.
 */
export type TemplateEscape = 'none' | 'url' | 'json' | 'header';

export function render(template: string, scope: Record<string, unknown>, escape: TemplateEscape = 'none'): string {
  return template.replace(/\{\{\s*([A-Za-z_$][\w$]*(?:\.[\w$]+)*)\s*\}\}/g, (_whole, path: string) => {
    let v: unknown = scope;
    for (const k of path.split('.')) {
      if (k === '__proto__' || k === 'constructor' || k === 'prototype') return '';
      v = v !== null && typeof v === 'object' && Object.prototype.hasOwnProperty.call(v, k) ? (v as Record<string, unknown>)[k] : undefined;
    }
    const s = v === undefined || v === null ? '' : typeof v === 'object' ? (Buffer.isBuffer(v) ? v.toString('base64') : JSON.stringify(v)) : String(v);
    switch (escape) {
      case 'url':
        return encodeURIComponent(s);
      case 'json':
        // inside a JSON string literal
        return JSON.stringify(s).slice(1, -1);
      case 'header':
        // CR/LF would let a message inject headers
        return s.replace(/[\r\n\0]/g, ' ');
      default:
        return s;
    }
  });
}
