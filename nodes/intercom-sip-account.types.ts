/** The intercom-sip-account config node as the SIP flow nodes see it. */
import type { SipAccount } from './lib/sip/account';
import type { Node, NodeStatus } from './shared/red';

export interface AccountCredentials {
  password?: string;
  registrarPasswords?: string;
  [key: string]: string | undefined;
}

/** What flow nodes see of the config node. */
export interface SipAccountNode extends Node<AccountCredentials> {
  account: SipAccount;
  ready: Promise<void>;
  statusView(): NodeStatus;
  registerUser(node: Node): void;
  deregisterUser(node: Node): void;
}

