using ILGPU;

namespace Testbed.Kernels.DeviceCode;

/// <summary>
/// The emulated non-coherent link, in kernel code (DESIGN §3): on a link without host-native atomics
/// (PCIe, unlike NVLink-C2C or CXL) a device atomic on a remotely mapped system page is a read across
/// the link, a round trip, and a write back: a CPU update that lands in between is lost. The device's
/// own atomics stay atomic among themselves, as a GPU's do (they meet at the device): each update
/// holds one of <see cref="LockWords"/> lock words in the device's memory, chosen by the 8-byte
/// granule it touches, which CPU atomics never take. Because it is kernel code, it behaves the same on
/// <c>cpu</c>, <c>ilgpu-cpu</c> and, as an explicit setting, on a GPU whose link is coherent; without it
/// the exclusivity check could not fail in CI, and a check that cannot fail proves nothing.
/// </summary>
/// <remarks>
/// The read and the write are atomic operations on their own (so each sees the memory, not a stale
/// cache line, and memory fences order them with the lock on every backend); what makes the update
/// non-atomic is the gap between them. A delay step is one group-level memory fence: it cannot be
/// optimised away and touches no shared cache line. <c>KernelRunner.EmulateNonCoherentLink</c>
/// sets it up; a default value emulates nothing.
/// </remarks>
public readonly struct LinkEmulation
{
    /// <summary>Lock words per device.</summary>
    public const int LockWords = 1024;

    private readonly ArrayView<int> _locks;
    private readonly int _delaySteps;

    /// <summary>A link whose updates take the lock words <paramref name="locks"/> and wait <paramref name="delaySteps"/> steps between read and write.</summary>
    public LinkEmulation(ArrayView<int> locks, int delaySteps)
    {
        _locks = locks;
        _delaySteps = delaySteps;
    }

    /// <summary>Whether device atomics on system memory cross an emulated non-coherent link.</summary>
    public bool IsEmulated => _delaySteps > 0;

    /// <summary>The delay between the read and the write, in steps.</summary>
    public int DelaySteps => _delaySteps;

    /// <summary>Adds <paramref name="value"/> to <paramref name="target"/>, the system word <paramref name="word"/>, as the emulated link does: read, delay, write, under the word's lock.</summary>
    public void Add(ref int target, long word, int value)
    {
        ref var gate = ref _locks[(int)((word >> 1) & (LockWords - 1))];
        while (Atomic.CompareExchange(ref gate, 0, 1) != 0)
        {
        }

        MemoryFence.DeviceLevel();
        var old = Atomic.Add(ref target, 0);
        for (var step = 0; step < _delaySteps; step++)
        {
            MemoryFence.GroupLevel();
        }

        Atomic.Exchange(ref target, old + value);
        MemoryFence.DeviceLevel();
        Atomic.Exchange(ref gate, 0);
    }
}
