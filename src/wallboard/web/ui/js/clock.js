// One clock for the whole page: 'wb-tick' on `clock` every second, so every ticking duration
// on screen moves together (and one timer serves them all).
//
// Durations travel as start times stamped by the server's clock, and a kiosk screen's clock may
// be off by minutes: `clock.now()` is the server's time as best known (the live channel sets
// `offsetMs` from the smallest delay it has seen between a batch's `written` and its arrival).
export const clock = new EventTarget();
clock.offsetMs = 0;
clock.now = () => Date.now() - clock.offsetMs;
setInterval(() => clock.dispatchEvent(new CustomEvent('wb-tick', { detail: clock.now() })), 1000);
