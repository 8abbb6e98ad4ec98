using Akka.Hosting;

namespace Akka.EventDriven.Cqrs;

/// <summary>Akka.Hosting wiring of the command and query buses.</summary>
public static class CqrsHostingExtensions
{
    /// <summary>
    /// Adds the CQRS settings over the module's defaults and, once the actor system runs, registers the handlers of
    /// <paramref name="configure"/>'s options on the node's buses (<see cref="CqrsExtension.Get"/>). Call after
    /// <c>WithEventDriven</c>, which hosts the aggregates the command handlers send to.
    /// <code>
    /// builder.WithCqrs(c =&gt; c
    ///     .Commands((bus, system) =&gt; bus.RegisterAggregate&lt;StartInvestigation, InvestigationState&gt;(
    ///         Aggregates.Get(system).Repository(Investigation.Definition), c =&gt; c.Id))
    ///     .Queries((bus, system) =&gt; bus.Register&lt;OpenCases, int&gt;((q, ct) =&gt; CountOpenAsync(ct))));
    /// </code>
    /// </summary>
    /// <exception cref="Akka.Configuration.ConfigurationException">A setting is invalid; the message names its key.</exception>
    public static AkkaConfigurationBuilder WithCqrs(this AkkaConfigurationBuilder builder, Action<CqrsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var options = new CqrsOptions();
        configure(options);
        var hocon = options.ToHocon();
        CqrsSettings.Create(Akka.Configuration.ConfigurationFactory.ParseString(hocon)); // fail here, naming the key
        builder.AddHocon(hocon, HoconAddMode.Prepend);
        builder.AddHocon(CqrsConfig.DefaultConfig(), HoconAddMode.Append);
        builder.AddStartup((system, _) =>
        {
            var cqrs = CqrsExtension.Get(system);
            foreach (var register in options.CommandRegistrations) register(cqrs.Commands, system);
            foreach (var register in options.QueryRegistrations) register(cqrs.Queries, system);
        });
        return builder;
    }
}
