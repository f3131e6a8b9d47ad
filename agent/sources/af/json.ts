/** AF objects as PI Web API returns them (the fields this agent reads), shared with the event frame source. */

export interface AfDatabaseJson {
  WebId: string;
  Id?: string;
  Name: string;
  Path: string;
}

/** What every AF object (template, element, attribute, event frame) has. */
export interface AfObjectJson {
  WebId: string;
  Id?: string;
  Name: string;
  Description?: string;
  Path: string;
}

export interface AfTemplateJson extends AfObjectJson {
  BaseTemplate?: string;
  InstanceType?: string;
  CategoryNames?: string[];
}

export interface AfElementJson extends AfObjectJson {
  TemplateName?: string;
  HasChildren?: boolean;
  CategoryNames?: string[];
  Links?: Record<string, string>;
}

export interface AfAttributeJson extends AfObjectJson {
  Type?: string;
  DefaultUnitsName?: string;
  DefaultUnitsNameAbbreviation?: string;
  DataReferencePlugIn?: string;
  ConfigString?: string;
  IsConfigurationItem?: boolean;
  IsExcluded?: boolean;
  IsHidden?: boolean;
  CategoryNames?: string[];
  Links?: Record<string, string>;
}

/** A static attribute's value (`/streams/{webId}/value`). */
export interface AfValueJson {
  Timestamp?: string;
  Value?: unknown;
}
