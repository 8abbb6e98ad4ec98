using Akka.Actor;
using Akka.Hosting;

namespace Akka.EventDriven.Sagas;

/// <summary>What <see cref="SagaHosting.WithSagas"/> wires.</summary>
public sealed class SagaHostingOptions
{
    internal List<ISagaDefinition> Definitions { get; } = [];

    /// <summary>Registers <paramref name="definition"/> on this node.</summary>
    public SagaHostingOptions Add(ISagaDefinition definition)
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
        var hocon = "akka.event-driven.sagas {\n";
        if (IndexTable is { } t) hocon += $"  index-table = \"{t}\"\n";
        if (PassivateAfterFinish is { } p) hocon += $"  passivate-after-finish = {(long)p.TotalMilliseconds}ms\n";
        if (ResumeInterval is { } r) hocon += $"  resume-interval = {(long)r.TotalMilliseconds}ms\n";
        return hocon + "}\n";
    }
}

/// <summary>The Akka.Hosting entry point of saga orchestration.</summary>
public static class SagaHosting
{
    /// <summary>
    /// Registers saga definitions and starts the saga region, the index of running sagas and the resume sweep on this
    /// node (after <c>WithEventDriven</c>, which configures the store):
    /// <code>
    /// builder.WithEventDriven(o =&gt; ...).WithSagas(s =&gt; s.Add(Enrichment.Definition));
    /// </code>
    /// </summary>
    public static AkkaConfigurationBuilder WithSagas(this AkkaConfigurationBuilder builder, Action<SagaHostingOptions> configure)
    {
        var options = new SagaHostingOptions();
        configure(options);
        builder.AddHocon(options.ToHocon(), HoconAddMode.Prepend);
        builder.AddHocon(SagaConfig.DefaultConfig(), HoconAddMode.Append);
        builder.AddStartup(async (system, _) =>
        {
            var orchestrator = SagaOrchestrator.Get(system);
            foreach (var definition in options.Definitions) orchestrator.Register(definition);
            if (options.Publisher is { } publisher) orchestrator.Publisher = publisher(system);
            await orchestrator.StartAsync();
        });
        return builder;
    }
}
