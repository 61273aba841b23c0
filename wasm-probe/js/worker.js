// gapbench probe worker: trains one case per message off the main thread.
import { runHere } from "./probe.js";

self.onmessage = async (event) => {
  const { spec, base, logSteps } = event.data;
  // With `logSteps`, each step's end time (absolute ms) goes to the page as `{ step }`.
  const onStep = logSteps ? () => self.postMessage({ step: performance.timeOrigin + performance.now() }) : undefined;
  const reply = await runHere(spec, base, false, onStep);
  self.postMessage(reply);
};
