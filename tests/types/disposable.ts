// Where the app's TypeScript library has `Symbol.dispose` (target ESNext,
// or lib esnext.disposable), a LoginManager is Disposable: `using` frees it
// at the end of the block. scripts/types-check.sh compiles this file only
// under such a configuration.
import init, { LoginManager } from "imlogin";

await init();
{
  using im = new LoginManager({ appKey: "k", linkUrl: "ws://127.0.0.1:1/link" });
  const disposable: Disposable = im;
  console.log(im.status, disposable);
}
