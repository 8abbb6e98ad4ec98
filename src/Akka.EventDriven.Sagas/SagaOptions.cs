using Akka.Actor;

namespace Akka.EventDriven.Sagas;

/// <summary>What <see cref="SagaHostingExtensions.WithSagas"/> wires.</summary>
public sealed class SagaOptions
{
    internal List<ISagaDefinition> Definitions { get; } = [];

    /// <summary>Registers <paramref name="definition"/> on this node.</summary>
    public SagaOptions Add(ISagaDefinition definition)
    {
        Definitions.Add(definition ?? throw new ArgumentNullException(nameof(definition)));
        return this;
    }

    /// <summary>Creates the lifecycle event publisher. Default: null, the system's EventStream and the event bus
    /// (<see cref="EventStreamSagaEventPublisher"/>, <see cref="BusSagaEventPublisher"/>).</summary>
    public Func<ActorSystem, ISagaEventPublisher>? Publisher { get; set; }

    /// <summary>How long a finished saga's entity lingers before it stops. Default: null, reference.conf (5 s).</summary>
    public TimeSpan? PassivateAfterFinish { get; set; }

    /// <summary>How often the index of running sagas is swept. Default: null, reference.conf (10 s).</summary>
    public TimeSpan? ResumeInterval { get; set; }

    /// <summary>The table of running saga ids. Default: null, reference.conf (<c>saga_index</c>). Clusters that share
    /// one database must each use their own (a cluster resumes every saga of its index).</summary>
    public string? IndexTable { get; set; }

    internal string ToHocon()
    {
        var hocon = new System.Text.StringBuilder("akka.event-driven.sagas {\n");
        if (IndexTable is { } t) hocon.Append("  index-table = ").Append(HoconText.Quote(t)).Append('\n');
        if (PassivateAfterFinish is { } p) hocon.Append("  passivate-after-finish = ").Append(HoconText.Duration(p)).Append('\n');
        if (ResumeInterval is { } r) hocon.Append("  resume-interval = ").Append(HoconText.Duration(r)).Append('\n');
        return hocon.Append("}\n").ToString();
    }
}
