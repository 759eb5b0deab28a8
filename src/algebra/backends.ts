/**
 * The backends, named once: the list below is the order 'auto' tries them in
 * (effects/backend.ts), and the codecs of the configuration's `backend` and
 * of a report's derive from it. A new backend is one name here (and its
 * loader in effects/backend.ts).
 */
import type * as t from 'io-ts';
import { oneOf } from './shape.js';

/** Native TensorFlow (Node), tfjs's WebGPU (Node: Dawn), tfjs's WebGL (a browser page), wasm and the pure-JS cpu: in the order 'auto' tries them. */
export const backendNames = ['tensorflow', 'webgpu', 'webgl', 'wasm', 'cpu'] as const;

/** The backend a run actually used. */
export const BackendName = oneOf(...backendNames);
export type BackendName = t.TypeOf<typeof BackendName>;

/** A backend request ('auto': the first that loads). */
export const BackendChoice = oneOf('auto', ...backendNames);
export type BackendChoice = t.TypeOf<typeof BackendChoice>;
