namespace Testbed.Explore;

/// <summary>
/// One protocol <c>testbed explore</c> searches: a harness that sets up the model, runs its threads to
/// completion and checks safety with Coyote's <c>Specification.Assert</c>,
/// in a buggy baseline variant (where the kernel community found the race) and a fixed variant (the
/// fix that was merged). Coyote runs <see cref="Schedule"/> once per schedule; liveness is checked by
/// the <see cref="ExploreScheduler"/> it is given, deadlocks by Coyote itself.
/// </summary>
public abstract class ExploreTarget
{
    /// <summary>The name on the command line.</summary>
    public abstract string Name { get; }

    /// <summary>One line for <c>testbed list</c> and the report.</summary>
    public abstract string Summary { get; }

    /// <summary>The variant with the known bug: the explorer passes when it finds it.</summary>
    public abstract string Buggy { get; }

    /// <summary>The variant with the fix: the explorer passes when it finds nothing in the budget.</summary>
    public abstract string Fixed { get; }

    /// <summary>Runs one schedule of <paramref name="variant"/>; every thread it starts has ended when it returns.</summary>
    public abstract void Schedule(string variant, ExploreScheduler scheduler);
}
