# frozen_string_literal: true

require 'spec_helper'
require 'yaml'

# The class documentation (and so REFERENCE.md) states each default of the module's Hiera data.
describe 'module data' do
  root = File.expand_path('../..', __dir__)
  data = YAML.safe_load(File.read(File.join(root, 'data', 'common.yaml')))
  init = File.read(File.join(root, 'manifests', 'init.pp'))
  params = init[%r{^class envoy_agent \((.*?)^\) \{}m, 1].scan(%r{\$(\w+)}).flatten

  data.each do |key, value|
    name = key.delete_prefix('envoy_agent::')
    shown = { true => 'true', false => 'false' }.fetch(value) { value.is_a?(Enumerable) ? value.inspect : value.to_s }

    it "#{key} is a parameter, documented with its default `#{shown}`" do
      expect(params).to include(name)
      doc = init[%r{^# @param #{name}\n((?:#   .*\n)+)}, 1]
      expect(doc).to include("Default: `#{shown}`.")
    end
  end

  it 'gives every parameter without a manifest default a value in data/common.yaml' do
    required = init[%r{^class envoy_agent \((.*?)^\) \{}m, 1].lines.reject { |l| l.include?('=') }
                                                             .map { |l| l[%r{\$(\w+)}, 1] }.compact
    expect(required.map { |p| "envoy_agent::#{p}" } - data.keys).to be_empty
  end
end
