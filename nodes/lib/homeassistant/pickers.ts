/**
 * What the editor's pickers offer, from what Home Assistant says it has: the notify
 * services a push can go to (the phones first), the services that open something, and the
 * entities such a service acts on. Pure: the lists come from HA's get_services and
 * get_states websocket commands.
 */

export interface Choice {
  /** what the field stores */
  value: string;
  /** what the picker shows beside it */
  label: string;
}

/** get_services: { domain: { service: { name?, description?, ... } } } */
export type ServiceTable = Record<string, Record<string, { name?: unknown } | undefined>>;
/** get_states: [{ entity_id, state, attributes: { friendly_name? } }] */
export type StateList = Array<{ entity_id?: unknown; attributes?: { friendly_name?: unknown } }>;

export type PickerKind = 'notify' | 'door-service' | 'entity';
export const PICKER_KINDS: readonly PickerKind[] = ['notify', 'door-service', 'entity'];

/** notify.<service> for a push: mobile_app_* (the companion apps) first, then groups and others. */
export function notifyChoices(services: ServiceTable): Choice[] {
  const notify = services.notify ?? {};
  const names = Object.keys(notify).filter((s) => /^[a-z0-9_]{1,128}$/.test(s) && s !== 'send_message' && s !== 'persistent_notification');
  const phone = (s: string): number => (s.startsWith('mobile_app_') ? 0 : 1);
  names.sort((a, b) => phone(a) - phone(b) || a.localeCompare(b));
  return names.map((s) => ({ value: s, label: s.startsWith('mobile_app_') ? s.slice('mobile_app_'.length).replace(/_/g, ' ') : String(notify[s]?.name ?? s) }));
}

/** Services that open a door, a gate or a strike, in the order a user looks for them. */
const OPENING = ['lock.open', 'lock.unlock', 'switch.turn_on', 'button.press', 'input_button.press', 'cover.open_cover', 'script.turn_on', 'scene.turn_on', 'input_boolean.turn_on', 'light.turn_on'];

export function doorServiceChoices(services: ServiceTable): Choice[] {
  const out: Choice[] = [];
  for (const full of OPENING) {
    const [domain, service] = full.split('.');
    if (services[domain]?.[service] !== undefined) out.push({ value: full, label: String(services[domain]?.[service]?.name ?? full) });
  }
  // Scripts are services of their own (script.<name>): a door opened by a script the user wrote.
  for (const name of Object.keys(services.script ?? {}).sort()) {
    if (['turn_on', 'turn_off', 'toggle', 'reload'].includes(name)) continue;
    out.push({ value: `script.${name}`, label: String(services.script?.[name]?.name ?? name) });
  }
  return out;
}

/** The entities of a domain (lock, switch, ...), by friendly name. */
export function entityChoices(states: StateList, domain: string): Choice[] {
  const prefix = `${domain}.`;
  const out: Choice[] = [];
  for (const s of states) {
    if (typeof s.entity_id !== 'string' || !s.entity_id.startsWith(prefix)) continue;
    const name = typeof s.attributes?.friendly_name === 'string' ? s.attributes.friendly_name : s.entity_id;
    out.push({ value: s.entity_id, label: name });
  }
  return out.sort((a, b) => a.label.localeCompare(b.label));
}

export function validDomain(d: unknown): d is string {
  return typeof d === 'string' && /^[a-z_]{1,64}$/.test(d);
}
