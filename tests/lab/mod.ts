// tests/lab: network-namespace clusters for tests, benchmarks and the demo.
export { destroyLab, Lab, LAB_ROOT, type LabNode, type LabOptions, listLabs } from "./lab.ts";
export { AgentProcess } from "./agent_process.ts";
export { ping, tcpConnect } from "./traffic.ts";
export { inNs, ip, run } from "./netns.ts";
