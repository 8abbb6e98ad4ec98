using Akka.Hosting;

namespace Akka.EventDriven.Sagas;

/// <summary>The Akka.Hosting entry point of saga orchestration.</summary>
public static class SagaHostingExtensions
{
    /// <summary>
    /// Registers saga definitions and starts the saga region, the index of running sagas and the resume sweep on this
    /// node (after <c>WithEventDriven</c>, which configures the store):
    /// <code>
    /// builder.WithEventDriven(o =&gt; ...).WithSagas(s =&gt; s.Add(Enrichment.Definition));
    /// </code>
    /// </summary>
    public static AkkaConfigurationBuilder WithSagas(this AkkaConfigurationBuilder builder, Action<SagaOptions> configure)
    {
        var options = new SagaOptions();
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
