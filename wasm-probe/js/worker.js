// gapbench probe worker: trains one case per message off the main thread.
import { runHere } from "./probe.js";

self.onmessage = async (event) => {
  const { spec, base } = event.data;
  const reply = await runHere(spec, base, false);
  self.postMessage(reply);
};
