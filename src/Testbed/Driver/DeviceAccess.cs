using Testbed.Kernels;

namespace Testbed.Driver;

/// <summary>
/// The device side of the mirror: <see cref="DeviceFunctionAttribute"/> helpers that kernels call to
/// reach shared memory through the device page table (DESIGN §4.1), and the layout of the buffers they
/// share with the driver. A missing translation or permission appends a fault record to the fault
/// buffer, like a GPU's replayable fault, and the access reports failure so the work item stops; an
/// access to a page the driver marked <see cref="DevicePte.Fatal"/> reports cancellation instead, and
/// the work item stops for good.
/// </summary>
/// <remarks>
/// Addresses are word indexes (32-bit words) from the start of the mirrored range. A translated
/// address is a word index into system memory (HostMm's arena, mapped into the accelerator) or, with
/// <see cref="DeviceFlag"/> added, into this device's memory. A fault record is
/// <c>page * 4 + access</c>.
/// </remarks>
public static class DeviceAccess
{
    /// <summary>Added to a translated word index that lies in device memory.</summary>
    public const long DeviceFlag = 1L << 62;

    /// <summary>Control buffer: how many faults were recorded in this launch (may exceed the capacity).</summary>
    public const int ControlFaultCount = 0;

    /// <summary>Control buffer: work items that finished all their operations.</summary>
    public const int ControlItemsDone = 1;

    /// <summary>Control buffer: work items cancelled by a fatal fault.</summary>
    public const int ControlItemsCancelled = 2;

    /// <summary>Control buffer: the first fault record; progress counters follow the fault records.</summary>
    public const int ControlFaults = 3;

    /// <summary>Config: the operation (<see cref="OpAdd"/>, <see cref="OpLoad"/>, <see cref="OpStore"/>).</summary>
    public const int ConfigOp = 0;

    /// <summary>Config: operations per work item.</summary>
    public const int ConfigOpsPerItem = 1;

    /// <summary>Config: the most operations one item performs per launch (bounds a launch's length).</summary>
    public const int ConfigOpsPerLaunch = 2;

    /// <summary>Config: 32-bit words per page.</summary>
    public const int ConfigWordsPerPage = 3;

    /// <summary>Config: fault records the control buffer holds.</summary>
    public const int ConfigFaultCapacity = 4;

    /// <summary>Config: the first word of the target area.</summary>
    public const int ConfigFirstWord = 5;

    /// <summary>Config: words in the target area.</summary>
    public const int ConfigSpan = 6;

    /// <summary>Config: distance in words between consecutive targets.</summary>
    public const int ConfigStride = 7;

    /// <summary>Config: work items.</summary>
    public const int ConfigItems = 8;

    /// <summary>Config: the value each add contributes.</summary>
    public const int ConfigValue = 9;

    /// <summary>Config entries.</summary>
    public const int ConfigLength = 10;

    /// <summary>Operation: atomic add of the configured value.</summary>
    public const int OpAdd = 0;

    /// <summary>Operation: load into the data buffer.</summary>
    public const int OpLoad = 1;

    /// <summary>Operation: store from the data buffer.</summary>
    public const int OpStore = 2;

    /// <summary>
    /// Translates <paramref name="word"/> for <paramref name="access"/> (0 read, 1 write, 2 atomic):
    /// the physical word index (plus <see cref="DeviceFlag"/> for device memory), -1 after recording
    /// a fault, or -2 when the page took a fatal fault (<see cref="DevicePte.Fatal"/>): no fault is
    /// recorded and the work item must cancel itself.
    /// </summary>
    [DeviceFunction]
    public static long Translate(ArrayView<uint> pt, ArrayView<int> control, ArrayView<int> config, long word, int access)
    {
        var wordsPerPage = config[ConfigWordsPerPage];
        var page = (int)(word / wordsPerPage);
        var entry = pt[page];
        var need = access == 0 ? DevicePte.Valid : access == 1 ? DevicePte.Valid | DevicePte.Write : DevicePte.Valid | DevicePte.Write | DevicePte.Atomic;
        if ((entry & need) != need)
        {
            if (entry == DevicePte.Fatal)
            {
                return -2;
            }

            var slot = Atomic.Add(ref control[ControlFaultCount], 1);
            if (slot < config[ConfigFaultCapacity])
            {
                control[ControlFaults + slot] = (page * 4) + access;
            }

            return -1;
        }

        var physical = ((long)(entry & DevicePte.FrameMask) * wordsPerPage) + (word % wordsPerPage);
        return (entry & DevicePte.Device) != 0 ? physical + DeviceFlag : physical;
    }

    /// <summary>Atomically adds <paramref name="value"/> at <paramref name="word"/>: 1, 0 after a fault, -1 when cancelled.</summary>
    [DeviceFunction]
    public static int AddTranslated(ArrayView<uint> pt, ArrayView<int> sys, ArrayView<int> dev, ArrayView<int> control, ArrayView<int> config, long word, int value)
    {
        var at = Translate(pt, control, config, word, 2);
        if (at < 0)
        {
            return (int)at + 1;
        }

        if (at >= DeviceFlag)
        {
            Atomic.Add(ref dev[at - DeviceFlag], value);
        }
        else
        {
            Atomic.Add(ref sys[at], value);
        }

        return 1;
    }

    /// <summary>Loads the word at <paramref name="word"/>: its value as an unsigned 32-bit number, -1 after a fault, -2 when cancelled.</summary>
    [DeviceFunction]
    public static long LoadTranslated(ArrayView<uint> pt, ArrayView<int> sys, ArrayView<int> dev, ArrayView<int> control, ArrayView<int> config, long word)
    {
        var at = Translate(pt, control, config, word, 0);
        if (at < 0)
        {
            return at;
        }

        var value = at >= DeviceFlag ? dev[at - DeviceFlag] : sys[at];
        return value & 0xFFFFFFFFL;
    }

    /// <summary>Stores <paramref name="value"/> at <paramref name="word"/>: 1, 0 after a fault, -1 when cancelled.</summary>
    [DeviceFunction]
    public static int StoreTranslated(ArrayView<uint> pt, ArrayView<int> sys, ArrayView<int> dev, ArrayView<int> control, ArrayView<int> config, long word, int value)
    {
        var at = Translate(pt, control, config, word, 1);
        if (at < 0)
        {
            return (int)at + 1;
        }

        if (at >= DeviceFlag)
        {
            dev[at - DeviceFlag] = value;
        }
        else
        {
            sys[at] = value;
        }

        return 1;
    }
}
