/**
 * Decides how the loaded module is called (--interface) and builds the AppHandler.
 * This first version knows TSGI only; fetch and node come with issue 3.
 */
import type { Application } from '../index.js';
import type { Config } from '../config/schema.js';
import type { AppHandler } from '../pipeline/context.js';
import { TsgiError } from '../errors.js';
import { createTsgiHandler, type TsgiHandlerOptions } from '../tsgi/handler.js';

export type InterfaceKind = 'tsgi' | 'fetch' | 'node';

export interface SelectedApp {
  readonly kind: InterfaceKind;
  readonly handler: AppHandler;
}

export function selectInterface(
  namespace: Record<string, unknown>,
  config: Config,
  opts: TsgiHandlerOptions,
): SelectedApp {
  const app = namespace[config.callableObject];
  if (typeof app !== 'function') {
    const exported = Object.keys(namespace).join(', ') || '(nothing)';
    throw new TsgiError(
      'TSGI_APP_SHAPE',
      `${config.scriptPath} has no function export "${config.callableObject}" (it exports: ${exported})`,
    );
  }
  return { kind: 'tsgi', handler: createTsgiHandler(app as Application, opts) };
}
