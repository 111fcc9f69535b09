namespace Testbed.Kernels.Cpu;

/// <summary>
/// One launch on the Cpu accelerator: the call, the extent cut into groups, and the non-coherent
/// link it emulates, with the delegate <see cref="CpuWorkers"/> runs per group. One instance per call
/// type and launching thread, reused launch after launch, so a launch allocates nothing once warm
/// (a closure per launch was most of what a device run allocated). The launching thread holds it
/// from <see cref="Begin"/> to <see cref="End"/>, and <see cref="CpuWorkers.Run"/> returns only when
/// every group has run, so no two launches share one.
/// </summary>
internal sealed class CpuLaunch<TCall>
    where TCall : struct, IKernelCall
{
    [ThreadStatic]
    private static CpuLaunch<TCall>? t_launch;

    private TCall _call;
    private int _extent;
    private int _group;
    private (nuint Start, nuint End)[]? _ranges;
    private int _delaySpins;

    private CpuLaunch() => RunGroup = Run;

    /// <summary>Runs one group's work items in order (the body <see cref="CpuWorkers.Run"/> calls).</summary>
    public Action<int> RunGroup { get; }

    /// <summary>How many groups the extent makes.</summary>
    public int Groups { get; private set; }

    /// <summary>
    /// The calling thread's launch of <typeparamref name="TCall"/>, set up for
    /// <paramref name="call"/> over <paramref name="extent"/> items in groups of <paramref name="group"/>;
    /// <paramref name="ranges"/> (null: none) are the host ranges across the emulated non-coherent link.
    /// </summary>
    public static CpuLaunch<TCall> Begin(in TCall call, int extent, int group, (nuint Start, nuint End)[]? ranges, int delaySpins)
    {
        var launch = t_launch ??= new CpuLaunch<TCall>();
        launch._call = call;
        launch._extent = extent;
        launch._group = group;
        launch._ranges = ranges;
        launch._delaySpins = delaySpins;
        launch.Groups = (extent + group - 1) / group;
        return launch;
    }

    /// <summary>Lets go of the call (its kernel delegate and arguments) and the ranges.</summary>
    public void End()
    {
        _call = default;
        _ranges = null;
    }

    private void Run(int g)
    {
        if (_ranges is not null)
        {
            NonCoherent.Enter(_ranges, _delaySpins);
        }

        try
        {
            var end = Math.Min(_extent, (g + 1) * _group);
            Grid.Set(g, Groups);
            for (var i = g * _group; i < end; i++)
            {
                Group.Set(i - (g * _group), _group);
                _call.Invoke(new Index1D(i));
            }
        }
        finally
        {
            NonCoherent.Exit();
        }
    }
}
