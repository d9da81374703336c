export { probeAudio, type AudioProbe, type ProbeAudioOptions } from './audio.probe.js';
export { BYTES_PER_FRAME_STEREO, decodeToRawFile, type DecodedAudio, type DecodeOptions } from './audio.decode.js';
export { RawStereoFile, type MonoStats } from './audio.raw.js';
export { AUDIO_FORMATS, encodeRawStereo, type AudioFormat, type BitDepth, type EncodeOptions } from './audio.encode.js';
export { loadAudio, type LoadedAudio } from './audio.load.js';
