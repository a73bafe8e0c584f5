// ErrorLog collects what an adapter reports to its error handler.
export class ErrorLog {
  constructor() {
    this.errors = [];
    this.then = undefined;
    this.handle = (err) => {
      this.errors.push(err);
      this.then?.(err);
    };
  }

  /** count is how many recorded errors are instances of cls. */
  count(cls) {
    return this.errors.filter((e) => e instanceof cls).length;
  }

  get length() {
    return this.errors.length;
  }
}

/** Clock is a settable clock for the failed-read memory. */
export class Clock {
  constructor() {
    this.t = Date.UTC(2024, 0, 1);
    this.now = () => this.t;
  }

  advance(ms) {
    this.t += ms;
  }
}
