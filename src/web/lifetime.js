// Keeps a LoginManager's JS object alive while it holds a session.
//
// wasm-bindgen frees a Rust object when the garbage collector takes its JS
// object, and an app may drop its last reference to a manager that is
// logged in (`new LoginManager(options).autoLogin()`, a component that
// went away): the session would end without a word. So the module holds
// the JS object strongly while its manager holds or resumes a session, and
// only weakly otherwise; `logout()` (the session ends) and `free()` let go
// of it.
//
// The Rust side never sees its own JS object, so each one is caught as it
// is made: the class's prototype gets a setter for the pointer field that
// wasm-bindgen's constructor assigns (`this.__wbg_ptr = …`); the setter
// turns it back into a plain field and hands the new object over.

// `probe`: an object of the class, made for this and freed here.
// `onConstructed(object)`: called with every object the constructor makes.
export function watchConstruction(probe, onConstructed) {
  const proto = Object.getPrototypeOf(probe);
  probe.free();
  if (Object.getOwnPropertyDescriptor(proto, "__wbg_ptr")) return;
  Object.defineProperty(proto, "__wbg_ptr", {
    configurable: true,
    set(ptr) {
      Object.defineProperty(this, "__wbg_ptr", {
        value: ptr, writable: true, enumerable: true, configurable: true,
      });
      onConstructed(this);
    },
  });
}

// One manager's hold on its JS object.
export class Anchor {
  constructor() {
    this.weak = null;
    this.strong = null;
  }

  adopt(object) {
    if (typeof WeakRef === "function") this.weak = new WeakRef(object);
  }

  hold(yes) {
    this.strong = yes ? (this.strong ?? this.weak?.deref() ?? null) : null;
  }
}
