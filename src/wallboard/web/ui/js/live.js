// The live channel (docs/live.md): one WebSocket per tab, subscriptions that survive reconnects,
// reconnect with backoff, and a watchdog that reconnects when the server falls silent.
//
//   const handle = live.subscribe({tenant, dashboard, widget}, (view) => ...);
//   handle.close();
// The callback receives a LiveView (its values as they are now) after each snapshot or change.
// `live.state` is 'connecting' | 'open' | 'closed'; 'wb-live-state' events on `live` tell changes.

/** A subscription's values: key [type, id, statistic] → value, and its store version. */
export class LiveView {
  constructor() {
    this.values = new Map();
    this.version = -1;
    this.receivedAt = 0;
    this.lateMs = 0; // how long after the collector wrote them the last changes arrived
    this.error = null;
  }

  static key(type, id, statistic) {
    return `${type}\u0000${id}\u0000${statistic}`;
  }

  get(type, id, statistic) {
    return this.values.get(LiveView.key(type, id, statistic));
  }

  /** Every row as [type, id, statistic, value]. */
  *rows() {
    for (const [key, value] of this.values) yield [...key.split('\u0000'), value];
  }

  /** The stale sources (docs/live.md, "Staleness"): [{stream, since, reason}]. */
  staleSources() {
    const stale = [];
    for (const [type, id, statistic, value] of this.rows()) {
      if (type === 'source' && statistic === 'source.stale' && value) stale.push({ stream: id, ...value });
    }
    return stale;
  }

  applySnapshot(message) {
    this.values = new Map();
    for (const [type, id, statistic, value] of message.values) {
      if (value !== null) this.values.set(LiveView.key(type, id, statistic), value);
    }
    this.version = message.version;
    this.receivedAt = Date.now();
    this.lateMs = 0;
    this.error = null;
  }

  /** Applies a changes message unless the view already holds its version; true if applied.
   * `offsetMs`: how far this page's clock is ahead of the server's (see clock.js). */
  applyChanges(message, offsetMs = 0) {
    if (message.version <= this.version) return false;
    for (const [type, id, statistic, value] of message.changes) {
      const key = LiveView.key(type, id, statistic);
      if (value === null) this.values.delete(key);
      else this.values.set(key, value);
    }
    this.version = message.version;
    this.receivedAt = Date.now();
    if (typeof message.written === 'number') {
      this.lateMs = Math.max(0, this.receivedAt - offsetMs - message.written);
    }
    return true;
  }
}

import { auth } from './auth.js';
import { clock } from './clock.js';

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];

export class LiveClient extends EventTarget {
  constructor(url) {
    super();
    this.stopped = false;
    this.url = url;
    this.state = 'closed';
    this.nextId = 1;
    this.handles = new Set();
    this.bySub = new Map();
    this.attempts = 0;
    this.heartbeatMs = 25000;
    this.socket = null;
    this.watchdog = null;
    this.reconnectTimer = null;
  }

  subscribe(target, callback) {
    const handle = { target, callback, view: new LiveView(), sub: null, closed: false };
    handle.close = () => {
      handle.closed = true;
      this.handles.delete(handle);
      if (handle.sub !== null && this.state === 'open') {
        this.send({ type: 'unsubscribe', sub: handle.sub });
        this.bySub.delete(handle.sub);
      }
    };
    this.handles.add(handle);
    if (this.state === 'open') this.sendSubscribe(handle);
    else this.connect();
    return handle;
  }

  connect() {
    if (this.socket || this.reconnectTimer || this.stopped) return;
    this.setState('connecting');
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener('message', (event) => this.receive(JSON.parse(event.data)));
    socket.addEventListener('close', () => this.lost(socket));
    socket.addEventListener('error', () => socket.close());
  }

  /** Closes the connection for good (a revoked kiosk link: reconnecting cannot help). */
  stop() {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.socket?.close();
  }

  send(message) {
    const id = this.nextId++;
    this.socket.send(JSON.stringify({ id, ...message }));
    return id;
  }

  sendSubscribe(handle) {
    const sub = this.send({ type: 'subscribe', ...handle.target });
    handle.sub = sub;
    this.bySub.set(sub, handle);
  }

  receive(message) {
    this.armWatchdog();
    switch (message.type) {
      case 'hello':
        this.heartbeatMs = (message.heartbeat_s || 25) * 1000;
        this.attempts = 0;
        this.nextId = 1;
        this.bySub.clear();
        this.setState('open');
        for (const handle of this.handles) this.sendSubscribe(handle);
        break;
      case 'result': {
        const handle = this.bySub.get(message.id);
        if (handle && !message.ok) {
          handle.view.error = message.error;
          handle.callback(handle.view);
        }
        break;
      }
      case 'snapshot': {
        const handle = this.bySub.get(message.sub);
        if (handle && !handle.closed) {
          handle.view.applySnapshot(message);
          handle.callback(handle.view);
        }
        break;
      }
      case 'changes': {
        this.learnOffset(message.written);
        const handle = this.bySub.get(message.sub);
        if (handle && !handle.closed && handle.view.applyChanges(message, clock.offsetMs)) handle.callback(handle.view);
        break;
      }
      case 'heartbeat':
        this.learnOffset(message.ts);
        break;
      default:
        break; // types added later
    }
  }

  /** The smallest (arrival - server stamp) seen is this clock's offset plus the fastest
   * delivery: the best estimate of the offset there is. */
  learnOffset(serverMs) {
    if (typeof serverMs !== 'number' || serverMs <= 0) return;
    const delay = Date.now() - serverMs;
    if (this.minDelay === undefined || delay < this.minDelay) {
      this.minDelay = delay;
      clock.offsetMs = delay;
    }
  }

  armWatchdog() {
    clearTimeout(this.watchdog);
    // Silence for twice the heartbeat means a half-open socket: drop it and reconnect.
    this.watchdog = setTimeout(() => this.socket?.close(), this.heartbeatMs * 2);
  }

  lost(socket) {
    if (socket !== this.socket) return;
    clearTimeout(this.watchdog);
    this.socket = null;
    this.bySub.clear();
    for (const handle of this.handles) handle.sub = null;
    this.setState('closed');
    if (this.stopped) return;
    const base = BACKOFF_MS[Math.min(this.attempts, BACKOFF_MS.length - 1)];
    this.attempts += 1;
    // Jitter, so a wall of screens does not reconnect in step after a deploy.
    const delay = base * (0.75 + Math.random() * 0.5);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent('wb-live-state', { detail: state }));
  }
}

const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
/** The tab's one live connection (the session cookie goes with it; a kiosk link's token as
 * `?kiosk=`, since a WebSocket sends no other header). */
export const live = new LiveClient(auth.withKiosk(`${scheme}//${location.host}/api/v1/live`));
