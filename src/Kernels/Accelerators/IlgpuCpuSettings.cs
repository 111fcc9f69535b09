using System.Globalization;
using ILGPU.Runtime.CPU;

namespace Testbed.Kernels.Accelerators;

/// <summary>
/// The shape and mode of the <c>ilgpu-cpu</c> accelerator (ILGPU's <see cref="CPUDevice"/> and
/// <see cref="CPUAcceleratorMode"/>). The default, 2 threads per warp, 1 warp per multiprocessor and 1
/// multiprocessor, launches in tens of microseconds on a 2-core machine; ILGPU's
/// <c>CPUDevice.Default</c> (many more threads) takes close to a millisecond. Wider warps simulate a
/// GPU's more closely (warp intrinsics see more lanes) at the price of more threads.
/// </summary>
public sealed record IlgpuCpuSettings(int ThreadsPerWarp = 2, int WarpsPerMultiprocessor = 1, int Multiprocessors = 1, CPUAcceleratorMode Mode = CPUAcceleratorMode.Auto)
{
    /// <summary>The default: <c>2x1x1</c>, ILGPU's automatic mode.</summary>
    public static IlgpuCpuSettings Default { get; } = new();

    /// <summary>ILGPU's device for these settings.</summary>
    public CPUDevice Device => new(ThreadsPerWarp, WarpsPerMultiprocessor, Multiprocessors);

    /// <summary>
    /// Reads <c>TxWxM</c> (threads per warp, warps per multiprocessor, multiprocessors), optionally
    /// followed by <c>:auto</c>, <c>:sequential</c> or <c>:parallel</c>; null with <paramref name="problem"/>
    /// saying what is wrong. ILGPU's rules: threads per warp a power of two of at least 2, warps per
    /// multiprocessor a power of two; and 64 threads at most in all.
    /// </summary>
    public static IlgpuCpuSettings? Parse(string text, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(text);
        problem = null;
        var parts = text.Split(':');
        var shape = parts[0].Split('x');
        var mode = CPUAcceleratorMode.Auto;
        if (parts.Length > 2 || (parts.Length == 2 && !Enum.TryParse(parts[1], ignoreCase: true, out mode)) || !Enum.IsDefined(mode))
        {
            problem = $"'{text}': the mode after ':' is auto, sequential or parallel";
            return null;
        }

        var numbers = new int[3];
        if (shape.Length != 3 || !shape.Select((s, i) => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out numbers[i]) && numbers[i] >= 1).All(ok => ok))
        {
            problem = $"'{text}' is not TxWxM (threads per warp x warps per multiprocessor x multiprocessors, each at least 1), e.g. 2x1x1";
            return null;
        }

        if (numbers[0] < 2 || !IsPowerOfTwo(numbers[0]) || !IsPowerOfTwo(numbers[1]))
        {
            problem = $"'{text}': threads per warp (at least 2) and warps per multiprocessor must be powers of two";
            return null;
        }

        if ((long)numbers[0] * numbers[1] * numbers[2] > 64)
        {
            problem = $"'{text}' asks for {(long)numbers[0] * numbers[1] * numbers[2]} threads; at most 64";
            return null;
        }

        return new IlgpuCpuSettings(numbers[0], numbers[1], numbers[2], mode);
    }

    private static bool IsPowerOfTwo(int n) => (n & (n - 1)) == 0;

    /// <inheritdoc/>
    public override string ToString() => $"{ThreadsPerWarp}x{WarpsPerMultiprocessor}x{Multiprocessors}:{Mode.ToString().ToLowerInvariant()}";
}
