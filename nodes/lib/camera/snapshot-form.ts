/**
 * The intercom-snapshot and intercom-door-open dialogs as rules (core/fields.ts): a door
 * to use, and for the snapshot how old a picture may be (empty = the door's sharing time).
 */
import { anything, number, type Form } from '../core/fields';

export const MAX_AGE = { default: -1, min: 0, max: 86_400_000 };

export const SNAPSHOT_FORM: Form = {
  fields: { door: anything, prefetchTopic: anything, maxAge: number(MAX_AGE), dir: anything, dataUrl: anything, name: anything },
};

export const DOOR_OPEN_FORM: Form = {
  fields: { door: anything, confirmTopic: anything, name: anything },
};
