/** The SIP trace: digest responses and configured secrets never reach it. */
import { maskSecrets } from '../../nodes/lib/sip/trace';

describe('trace masking', () => {
  test('digest responses and configured secrets never reach the trace', () => {
    const m = maskSecrets('Authorization: Digest username="door", response="abcdef0123", cnonce="xyz"\r\nX-Note: Sup3rSecret', ['Sup3rSecret']);
    expect(m).not.toContain('abcdef0123');
    expect(m).not.toContain('Sup3rSecret');
    expect(m).toContain('username="door"');
  });
});
