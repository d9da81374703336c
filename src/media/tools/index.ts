export { runFfmpeg } from './ffmpeg.js';
export { ffprobeJson, mimeFromProbe, probeMedia, probeNumber, SAFE_DEMUXERS, SAFE_INPUT_ARGS, type FfprobeJson, type MediaProbe } from './ffprobe.js';
export { checkTools, findTool, locateExecutable, type FoundTool } from './tools.find.js';
export { TOOLS, toolCommand, toolMissing, type ToolName } from './tools.names.js';
export { firstErrorLine, runTool, type ToolRun, type ToolRunOptions } from './tools.run.js';
