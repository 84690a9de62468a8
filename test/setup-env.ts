/**
 * Runs before every test file (jest `setupFiles`).
 *
 * The AWS SDK warns once per process that its releases after January 2027 need Node 22. The
 * versions here are pinned and the Lambda runtime is Node 22 already; on the Node 20 machines that
 * run the tests the warning would repeat for every test file and bury the results.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
