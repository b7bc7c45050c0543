/**
 * Number plans by country (ITU-T E.164 country codes, national trunk and international
 * prefixes, the length of a national number where it is fixed): what a new whitelist
 * starts with in the editor, from the region of the editor's locale, instead of one
 * country for everybody. Countries whose plans a table cannot say well are left out; a new
 * whitelist there starts with no country code (numbers compared as written, E.164 with +).
 */
import type { NumberPlan } from './number';

type Plan = Pick<NumberPlan, 'countryCode' | 'trunkPrefix' | 'internationalPrefix' | 'nationalDigits'>;

// region: [country code, trunk prefix, international prefix, national digits (0 = not fixed)]
const PLANS: Record<string, [string, string, string, number]> = {
  RU: ['7', '8', '00', 10],
  KZ: ['7', '8', '00', 10],
  UA: ['380', '0', '00', 9],
  DE: ['49', '0', '00', 0],
  AT: ['43', '0', '00', 0],
  CH: ['41', '0', '00', 9],
  LI: ['423', '', '00', 7],
  FR: ['33', '0', '00', 9],
  BE: ['32', '0', '00', 0],
  NL: ['31', '0', '00', 9],
  LU: ['352', '', '00', 0],
  IT: ['39', '', '00', 0],
  ES: ['34', '', '00', 9],
  PT: ['351', '', '00', 9],
  GB: ['44', '0', '00', 0],
  IE: ['353', '0', '00', 0],
  DK: ['45', '', '00', 8],
  NO: ['47', '', '00', 8],
  SE: ['46', '0', '00', 0],
  FI: ['358', '0', '00', 0],
  EE: ['372', '', '00', 0],
  LV: ['371', '', '00', 8],
  PL: ['48', '', '00', 9],
  CZ: ['420', '', '00', 9],
  SK: ['421', '0', '00', 9],
  HU: ['36', '06', '00', 0],
  RO: ['40', '0', '00', 9],
  BG: ['359', '0', '00', 0],
  GR: ['30', '', '00', 10],
  HR: ['385', '0', '00', 0],
  SI: ['386', '0', '00', 8],
  RS: ['381', '0', '00', 0],
  TR: ['90', '0', '00', 10],
  IL: ['972', '0', '00', 0],
  AE: ['971', '0', '00', 0],
  US: ['1', '1', '011', 10],
  CA: ['1', '1', '011', 10],
  MX: ['52', '', '00', 10],
  BR: ['55', '0', '00', 0],
  AR: ['54', '0', '00', 10],
  AU: ['61', '0', '0011', 9],
  NZ: ['64', '0', '00', 0],
  JP: ['81', '0', '010', 0],
  KR: ['82', '0', '001', 0],
  CN: ['86', '0', '00', 0],
  IN: ['91', '0', '00', 10],
  ZA: ['27', '0', '00', 9],
};

/** No country known: numbers are compared as written; a leading + or 00 is international. */
export const NO_COUNTRY: Plan = { countryCode: '', trunkPrefix: '', internationalPrefix: '00', nationalDigits: 0 };

/** The plan of a region (ISO 3166 alpha-2, any case), or NO_COUNTRY. */
export function numberPlanFor(region: string | undefined): Plan {
  const p = region ? PLANS[region.toUpperCase()] : undefined;
  return p ? { countryCode: p[0], trunkPrefix: p[1], internationalPrefix: p[2], nationalDigits: p[3] } : { ...NO_COUNTRY };
}
