import { VolumeBusyError, VolumeNotProtectedError } from '../../../shared/core/ports/errors';
import { SuspectRestorePointError } from '../../../shared/core/errors';
import { classifyError, EXIT_CODES, formatError, NotFoundError } from '../../../cli/errors';

describe('errors', () => {
  describe('classifyError', () => {
    it('maps the engine\'s typed errors to their exit codes with a hint', () => {
      // Act
      const notProtected = classifyError(new VolumeNotProtectedError('volume vol-1 is not protected'));
      const busy = classifyError(new VolumeBusyError('vol-1', { holder: 'h', runId: 'r', expiresAt: 0 }));
      const suspect = classifyError(new SuspectRestorePointError('point 3 is suspect'));

      // Assess
      expect(notProtected).toMatchObject({ exitCode: EXIT_CODES.notFound, name: 'VolumeNotProtectedError' });
      expect(notProtected.hint).toContain('ebs-cdp protect');
      expect(busy.exitCode).toBe(EXIT_CODES.busy);
      expect(suspect).toMatchObject({ exitCode: EXIT_CODES.usage });
      expect(suspect.hint).toContain('--allow-suspect');
    });

    it('calls a refused connection unreachable (exit 5)', () => {
      // Prepare
      const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });

      // Assess
      expect(classifyError(refused).exitCode).toBe(EXIT_CODES.unreachable);
    });

    it('treats an unknown error as a failed check (exit 1)', () => {
      // Assess
      expect(classifyError(new Error('boom')).exitCode).toBe(EXIT_CODES.checkFailed);
    });
  });

  describe('formatError', () => {
    it('prints the message and what to do next, and the stack only with --debug', () => {
      // Prepare
      const error = new NotFoundError('volume vol-9 does not exist', 'list the volumes with: ebs-cdp volume list');

      // Act
      const plain = formatError(error, false);
      const debug = formatError(error, true);

      // Assess
      expect(plain).toBe('error: volume vol-9 does not exist\n  next: list the volumes with: ebs-cdp volume list');
      expect(plain).not.toContain('    at ');
      expect(debug).toContain('    at ');
    });
  });
});
