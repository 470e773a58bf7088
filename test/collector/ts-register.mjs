// `node --import ./ts-register.mjs file.ts`: registers ts-hooks.mjs for a child process started by a test.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
