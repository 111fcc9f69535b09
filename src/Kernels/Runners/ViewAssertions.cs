using System.Diagnostics;

namespace Testbed.Kernels.Runners;

/// <summary>
/// ILGPU's views check every index with <c>Trace.Assert</c>. With the default listener a failed check
/// ends the process; with the listeners cleared it is ignored and the access writes past the buffer.
/// Neither is acceptable in a testbed whose users run kernels with bugs in them, so every runner first
/// installs this listener ahead of the others: a failed check throws
/// <see cref="KernelAssertionException"/> on the thread that made it. On the direct cpu runner that is
/// the work item, and the launch rethrows it to its caller as a <see cref="KernelException"/> naming the
/// kernel and the item. (On ILGPU's CPU accelerator an exception inside a kernel still ends the process,
/// as any exception there does; GPUs do not run the checks.)
/// </summary>
public static class ViewAssertions
{
    private static readonly Lock s_lock = new();
    private static bool s_installed;

    /// <summary>Puts the throwing listener first in <see cref="Trace.Listeners"/> (once per process).</summary>
    public static void Install()
    {
        lock (s_lock)
        {
            if (!s_installed)
            {
                Trace.Listeners.Insert(0, new ThrowingListener());
                s_installed = true;
            }
        }
    }

    /// <summary>Throws on a failed assertion; ignores trace output.</summary>
    private sealed class ThrowingListener : TraceListener
    {
        public override void Fail(string? message) => throw new KernelAssertionException(message ?? "assertion failed");

        public override void Fail(string? message, string? detailMessage) =>
            throw new KernelAssertionException(string.IsNullOrEmpty(detailMessage) ? message ?? "assertion failed" : $"{message}: {detailMessage}");

        public override void Write(string? message)
        {
        }

        public override void WriteLine(string? message)
        {
        }
    }
}
