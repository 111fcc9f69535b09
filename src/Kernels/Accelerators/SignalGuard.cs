using System.Runtime.InteropServices;

namespace Testbed.Kernels.Accelerators;

/// <summary>
/// Keeps .NET's <c>SIGFPE</c> handler in place across native driver calls that replace it. PoCL installs
/// a handler of its own when it initialises (so that an integer division by zero in an OpenCL kernel
/// does not trap, as on a GPU); in a .NET process that handler turns every later division by zero,
/// anywhere, into a silent wrong result or a crash instead of a <see cref="DivideByZeroException"/>.
/// Probing OpenCL on a machine with PoCL (Debian's <c>pocl-opencl-icd</c>, which CI installs) would do
/// that to the whole testbed, so every call that may initialise a GPU driver runs inside
/// <see cref="Run{T}"/>, which saves the handler before and restores it after.
/// </summary>
internal static unsafe class SignalGuard
{
    private const int Sigfpe = 8;

    /// <summary>Bytes reserved for a <c>struct sigaction</c> (152 on x86-64 and arm64 glibc).</summary>
    private const int SigactionBytes = 512;

    private static readonly Lock s_lock = new();

    /// <summary>Runs <paramref name="call"/> and puts back the <c>SIGFPE</c> handler it found, whatever <paramref name="call"/> did to it.</summary>
    public static T Run<T>(Func<T> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        if (!OperatingSystem.IsLinux())
        {
            return call();
        }

        lock (s_lock)
        {
            var saved = stackalloc byte[SigactionBytes];
            var haveSaved = sigaction(Sigfpe, null, saved) == 0;
            try
            {
                return call();
            }
            finally
            {
                if (haveSaved)
                {
                    sigaction(Sigfpe, saved, null);
                }
            }
        }
    }

    [DllImport("libc", EntryPoint = "sigaction")]
    private static extern int sigaction(int signal, byte* action, byte* previous);
}
